// Throwaway PostgreSQL databases on the server the integration tests share, and a
// way to look at what a process under test stored.
import { randomBytes } from "node:crypto";

/** Admin connection for creating per-run test databases. */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

// The few parts of `pg` used here, typed locally: the package ships no types, and
// a local interface keeps working whether or not @types/pg gets installed.
interface PgClient {
  connect(): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}
type PgClientClass = new (config: {
  connectionString: string;
  connectionTimeoutMillis?: number;
}) => PgClient;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require("pg") as { Client: PgClientClass };

export interface TestDatabase {
  /** postgres://.../st_<hex> */
  url: string;
  name: string;
  /** Drops it (terminating open connections). Idempotent. */
  drop(): Promise<void>;
}

/** Creates an empty database `st_<random>` on the TEST_DATABASE_URL server. */
export async function createTestDatabase(adminUrl = TEST_DATABASE_URL): Promise<TestDatabase> {
  const name = `st_${randomBytes(6).toString("hex")}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | null = null;
  return {
    url: url.toString(),
    name,
    drop: () =>
      (dropped ??= withClient(adminUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      })),
  };
}

/** Runs one SQL statement on a database (tests use it to look at what the api stored). */
export async function queryDatabase(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  return withClient(url, async (client) => (await client.query(sql, params)).rows);
}

async function withClient<T>(url: string, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
