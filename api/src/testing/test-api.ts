// Test support: a fresh PostgreSQL database per suite (created on
// TEST_DATABASE_URL, dropped afterwards even when tests fail), the real api
// started in-process on it, and the requests every flow starts with: a device
// asking for a tunnel and an engineer's sealed approval.
import { randomBytes } from "node:crypto";
import {
  SupportApiClient,
  generateKeyPair,
  generatePresharedKey,
  sealApproval,
  type ApproveTunnelRequest,
  type CreateTunnelRequest,
  type CreateTunnelResponse,
  type PresharedKey,
  type TunnelId,
  type WgKeyPair,
  type WgPublicKey,
} from "@support-tunnel/common";
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

/** A tunnel a test device asked for: the api's answer, the device's keys and its client. */
export interface TestTunnel {
  created: CreateTunnelResponse;
  /** The device's WireGuard keys: the approval is sealed to the public one. */
  device: WgKeyPair;
  /** The api as the device sees it (its tunnel's token). */
  deviceClient: SupportApiClient;
}

let testSubnets = 0;

/**
 * A device's tunnel request to the api at `baseUrl`: a fresh key pair and a /30
 * no other test tunnel of this process has, unless `request` says otherwise.
 */
export async function requestTestTunnel(
  baseUrl: string,
  request: Partial<CreateTunnelRequest> = {},
  enrollmentSecret?: string,
): Promise<TestTunnel> {
  const device = generateKeyPair();
  const n = testSubnets++;
  const created = await new SupportApiClient({ baseUrl, retries: 0 }).createTunnel(
    {
      deviceWgPublicKey: device.publicKey,
      network: `10.${90 + Math.floor(n / 16384)}.${Math.floor(n / 64) % 256}.${(n % 64) * 4}/30`,
      ...request,
    },
    enrollmentSecret,
  );
  return {
    created,
    device,
    deviceClient: new SupportApiClient({ baseUrl, token: created.token, retries: 0 }),
  };
}

/** An approval request and what went into it, for tests that open it as the device would. */
export interface TestApproval {
  body: ApproveTunnelRequest;
  /** The server's WireGuard keys (the approval is sealed with the private one). */
  server: WgKeyPair;
  psk: PresharedKey;
}

export const TEST_EGRESS_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl egress";

/**
 * The body of `POST /v1/tunnels/:id/server` as `support create` sends it: a
 * netns server and an approval really sealed for `device` (a fresh key when the
 * test never opens it: the api cannot open an approval, any sealed one does).
 */
export function testApprovalRequest(
  tunnel: { tunnelId: TunnelId; expiresAt?: string },
  device: { publicKey: WgPublicKey } = generateKeyPair(),
  opts: {
    /** The approver named in the sealed payload. */
    engineer?: string;
    instanceId?: string;
    publicIp?: string;
    sshPublicKey?: string;
    psk?: PresharedKey;
  } = {},
): TestApproval {
  const server = generateKeyPair();
  const psk = opts.psk ?? generatePresharedKey();
  const publicIp = opts.publicIp ?? "198.51.100.7";
  const body: ApproveTunnelRequest = {
    instanceId: opts.instanceId ?? "netns-st1234",
    provider: "netns",
    publicIp,
    wgPort: 51820,
    wgPublicKey: server.publicKey,
    approval: sealApproval({
      payload: {
        tunnelId: tunnel.tunnelId,
        serverWgPublicKey: server.publicKey,
        endpoint: publicIp,
        wgPort: 51820,
        sshPublicKey: opts.sshPublicKey ?? TEST_EGRESS_KEY,
        expiresAt: tunnel.expiresAt ?? new Date(Date.now() + 3600_000).toISOString(),
        engineer: opts.engineer ?? "olivia",
      },
      serverPrivateKey: server.privateKey,
      devicePublicKey: device.publicKey,
      psk,
    }),
  };
  return { body, server, psk };
}
