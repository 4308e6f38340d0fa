// Test support: a fresh PostgreSQL database per suite (created on
// TEST_DATABASE_URL, dropped afterwards even when tests fail) and the real api
// started in-process on it.
import { randomBytes } from "node:crypto";
import { TEST_DATABASE_URL, missingPostgres, requirePrerequisite } from "@support-tunnel/testkit";
import { Client } from "pg";
import type { Logger } from "pino";
import { loadConfig, type ApiConfig } from "../config";
import { startApi, type RunningApi } from "../commands/serve";
import { ManualClock } from "../services/clock";
import { SweepService } from "../services/sweep.service";
import { newEngineerToken } from "../services/tokens";

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `st_api_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () =>
      admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

export interface TestApi {
  api: RunningApi;
  url: string;
  clock: ManualClock;
  config: ApiConfig;
  /** Token of the bootstrap admin. */
  adminToken: string;
  sweepOnce(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * The real api on `databaseUrl`, port 0, a manual clock and a bootstrap admin;
 * quiet unless given a `logger` (e.g. one writing to a test's own stream).
 */
export async function startTestApi(
  databaseUrl: string,
  env: Record<string, string> = {},
  opts: { logger?: Logger } = {},
): Promise<TestApi> {
  const adminToken = newEngineerToken();
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    HOST: "127.0.0.1",
    PORT: "0",
    SUPPORT_BOOTSTRAP_TOKEN: adminToken,
    SUPPORT_SWEEP_INTERVAL_MS: "3600000",
    SUPPORT_RATE_LIMIT_PER_MINUTE: "1000",
    LOG_LEVEL: "silent",
    ...env,
  });
  const clock = new ManualClock();
  const api = await startApi(config, { clock, logger: opts.logger });
  return {
    api,
    url: api.url,
    clock,
    config,
    adminToken,
    sweepOnce: () => api.app.get(SweepService).sweepOnce(),
    close: async () => {
      await api.close();
    },
  };
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what}: its before hook did not run`);
  return value;
}

/**
 * For a describe block: a fresh database before its tests (the block is
 * skipped, or fails under SUPPORT_TUNNEL_TEST_STRICT, without PostgreSQL),
 * dropped after them.
 */
export function useTestDatabase(): { readonly db: TestDatabase } {
  let db: TestDatabase | undefined;
  before(async function () {
    requirePrerequisite(this, await missingPostgres());
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });
  return {
    get db() {
      return required(db, "test database");
    },
  };
}

/** For a describe block: a fresh database and the api on it (see startTestApi), both gone after. */
export function useTestApi(env: Record<string, string> = {}): {
  readonly db: TestDatabase;
  readonly sut: TestApi;
} {
  let db: TestDatabase | undefined;
  let sut: TestApi | undefined;
  before(async function () {
    requirePrerequisite(this, await missingPostgres());
    db = await createTestDatabase();
    sut = await startTestApi(db.url, env);
  });
  after(async () => {
    await sut?.close();
    await db?.drop();
  });
  return {
    get db() {
      return required(db, "test database");
    },
    get sut() {
      return required(sut, "test api");
    },
  };
}

export interface HttpAnswer {
  status: number;
  body: { statusCode?: number; message?: string; field?: string; [key: string]: unknown };
}

/** A raw HTTP call, for what the typed client won't send (malformed input, odd headers). */
export async function http(
  baseUrl: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers["content-type"] ??= "application/json";
  const res = await fetch(baseUrl + path, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let json: HttpAnswer["body"] = {};
  try {
    json = text ? (JSON.parse(text) as HttpAnswer["body"]) : {};
  } catch {
    json = { message: text };
  }
  return { status: res.status, body: json };
}

/** Every row of every table in the database's public schema (but `except`), as text, for searching. */
export async function dumpDatabase(url: string, except: string[] = []): Promise<string> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    const parts: string[] = [];
    for (const { table_name } of tables.rows.filter((t) => !except.includes(t.table_name))) {
      const rows = await client.query(`SELECT * FROM "${table_name.replace(/"/g, '""')}"`);
      parts.push(`${table_name}: ${JSON.stringify(rows.rows)}`);
    }
    return parts.join("\n");
  } finally {
    await client.end();
  }
}
