// The api's database settings: PostgreSQL through `pg` when DATABASE_URL is
// set, otherwise embedded PGlite in the data directory. The same migrations
// serve both; `synchronize` is never used.
import { DataSource, type DataSourceOptions } from "typeorm";
import type { ApiConfig } from "../config";
import { AuditEntryEntity } from "../entities/audit-entry.entity";
import { CustomerEntity } from "../entities/customer.entity";
import { DeviceEntity } from "../entities/device.entity";
import { EngineerRevocationEntity } from "../entities/engineer-revocation.entity";
import { EngineerEntity } from "../entities/engineer.entity";
import { GroupCustomerEntity } from "../entities/group-customer.entity";
import { GroupMemberEntity } from "../entities/group-member.entity";
import { GroupEntity } from "../entities/group.entity";
import { RateLimitCounterEntity } from "../entities/rate-limit-counter.entity";
import { TunnelSessionEntity } from "../entities/tunnel-session.entity";
import { TunnelEntity } from "../entities/tunnel.entity";
import { Initial1764000000000 } from "../migrations/1764000000000-Initial";
import { RateLimitCounters1796148565613 } from "../migrations/1796148565613-RateLimitCounters";
import { TunnelChoices1796500000000 } from "../migrations/1796500000000-TunnelChoices";
import { TunnelSessions1796600000000 } from "../migrations/1796600000000-TunnelSessions";
import { pgliteDriver, type DatabaseEventLog } from "./pglite-driver";
import { ApprovalRefusal1796600000000 } from "../migrations/1796600000000-ApprovalRefusal";
import { AccessGroups1797000000000 } from "../migrations/1797000000000-AccessGroups";
import { EngineersAndAudit1797100000000 } from "../migrations/1797100000000-EngineersAndAudit";
import { AllowedPorts1797200000000 } from "../migrations/1797200000000-AllowedPorts";

export const ENTITIES = [
  TunnelEntity,
  EngineerEntity,
  AuditEntryEntity,
  RateLimitCounterEntity,
  TunnelSessionEntity,
  CustomerEntity,
  GroupEntity,
  GroupMemberEntity,
  GroupCustomerEntity,
  DeviceEntity,
  EngineerRevocationEntity,
];
export const MIGRATIONS = [
  Initial1764000000000,
  RateLimitCounters1796148565613,
  TunnelChoices1796500000000,
  TunnelSessions1796600000000,
  ApprovalRefusal1796600000000,
  AccessGroups1797000000000,
  EngineersAndAudit1797100000000,
  AllowedPorts1797200000000,
];

/** Arbitrary constant: the advisory lock that serialises migrations between replicas. */
const MIGRATION_LOCK_KEY = 727_140_001;

/**
 * How long a pooled connection may sit idle before it is closed: pg-pool's
 * 10 s would close them after any quiet moment. A new one costs a backend
 * forked and authenticated (~12 ms here), and its first stop ~8 ms more than
 * the next (catalog caches, the plan), which ten at once put on the wake-ups
 * after every pause (issue 14). Ten idle connections per replica cost
 * PostgreSQL little; five minutes still lets a quiet replica let go.
 */
export const POOL_IDLE_TIMEOUT_MS = 5 * 60_000;

export type DatabaseConfig = Pick<ApiConfig, "databaseUrl" | "dataDir">;

/** `log` hears of slow steps worth telling an operator about (the embedded database's first start). */
export function dataSourceOptions(
  config: DatabaseConfig,
  log?: DatabaseEventLog,
): DataSourceOptions {
  const common = {
    type: "postgres" as const,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: "migrations",
    synchronize: false,
    migrationsRun: false,
    logging: false,
  };
  if (config.databaseUrl) {
    return {
      ...common,
      url: config.databaseUrl,
      poolSize: 10,
      connectTimeoutMS: 10_000,
      extra: { idleTimeoutMillis: POOL_IDLE_TIMEOUT_MS },
    };
  }
  return { ...common, driver: pgliteDriver(config.dataDir, log), poolSize: 1 };
}

function isEmbedded(dataSource: DataSource): boolean {
  return !("url" in dataSource.options && dataSource.options.url);
}

/**
 * Applies pending migrations and returns their names. On PostgreSQL an advisory
 * lock makes replicas that start together take turns, so each migration runs once.
 * (TypeORM has no words for advisory locks: the one raw statement pair here.)
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  if (isEmbedded(dataSource)) {
    const done = await dataSource.runMigrations({ transaction: "each" });
    return done.map((m) => m.name);
  }
  const lock = dataSource.createQueryRunner();
  try {
    await lock.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    const done = await dataSource.runMigrations({ transaction: "each" });
    return done.map((m) => m.name);
  } finally {
    await lock.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.release();
  }
}

/** Errors that mean "the server isn't reachable yet", worth another try at start-up. */
export function isTransientConnectError(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "57P03"].includes(
    code ?? "",
  );
}

/**
 * The `dataSourceFactory` of the api's TypeOrmModule: opens the database and,
 * when asked, brings its schema up to date before anything else uses it.
 */
export async function openDataSource(
  options: DataSourceOptions,
  opts: { migrate: boolean },
): Promise<DataSource> {
  const dataSource = await new DataSource(options).initialize();
  if (!opts.migrate) return dataSource;
  try {
    await runMigrations(dataSource);
  } catch (err) {
    await dataSource.destroy().catch(() => undefined);
    throw err;
  }
  return dataSource;
}
