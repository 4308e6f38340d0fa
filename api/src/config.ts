// The api's configuration: the only module that reads process.env. It reads it
// once, validates every variable, and reports all bad ones together so an
// operator fixes a broken deployment in one round trip.
import { homedir } from "node:os";
import { join } from "node:path";
import { engineerTokenSchema, type EngineerToken } from "@support-tunnel/common";

export interface ApiConfig {
  port: number;
  host: string;
  /** `postgres://...` selects a real server; null means embedded PGlite in `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
  enrollmentSecret: string | null;
  bootstrapToken: EngineerToken | null;
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  sweepIntervalMs: number;
  /** How often each replica re-reads the tunnels its long-polls wait on, in case a notification was lost. */
  longPollRereadMs: number;
  /** How often devices' last requests are written (SUPPORT_LAST_REQUEST_FLUSH_MS). */
  lastRequestFlushMs: number;
  rateLimitPerMinute: number;
  /** Honour X-Forwarded-For from one proxy hop (a load balancer in front of the api). */
  trustProxy: boolean;
  logLevel: LogLevel;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
}

/** Values given on the command line win over the environment. */
export interface ConfigOverrides {
  port?: string;
  host?: string;
  dataDir?: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** `$XDG_DATA_HOME/support-tunnel/api`, else `~/.local/share/support-tunnel/api`. */
export function defaultDataDir(env: Env): string {
  const base = env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share");
  return join(base, "support-tunnel", "api");
}

export function loadConfig(env: Env = process.env, overrides: ConfigOverrides = {}): ApiConfig {
  const problems: string[] = [];

  const int = (
    name: string,
    raw: string | undefined,
    fallback: number,
    min: number,
    max: number,
  ) => {
    if (raw === undefined || raw === "") return fallback;
    if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}: must be a whole number between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return Number(raw);
  };

  const port = int(
    overrides.port !== undefined ? "--port" : "PORT",
    overrides.port ?? env.PORT,
    8080,
    0,
    65535,
  );
  const host = overrides.host ?? env.HOST ?? "0.0.0.0";
  if (!/^[A-Za-z0-9.:_-]+$/.test(host))
    problems.push(`HOST: must be an address or host name (got "${host}")`);

  let databaseUrl: string | null = env.DATABASE_URL?.trim() || null;
  // Only the scheme is checked: pg accepts forms a WHATWG URL parser refuses,
  // e.g. a Unix socket as `postgres://user:pass@/db?host=/cloudsql/...`.
  if (databaseUrl !== null && !/^postgres(ql)?:\/\/\S*$/.test(databaseUrl)) {
    problems.push("DATABASE_URL: must be a postgres:// or postgresql:// URL");
    databaseUrl = null;
  }

  const dataDir = overrides.dataDir ?? (env.SUPPORT_API_DATA_DIR || defaultDataDir(env));

  const enrollmentSecret = env.SUPPORT_ENROLLMENT_SECRET || null;
  if (enrollmentSecret !== null && enrollmentSecret.length < 16) {
    problems.push("SUPPORT_ENROLLMENT_SECRET: must be at least 16 characters");
  }

  let bootstrapToken: EngineerToken | null = null;
  if (env.SUPPORT_BOOTSTRAP_TOKEN) {
    if (engineerTokenSchema.safeParse(env.SUPPORT_BOOTSTRAP_TOKEN).success) {
      bootstrapToken = env.SUPPORT_BOOTSTRAP_TOKEN as EngineerToken;
    } else {
      problems.push(
        "SUPPORT_BOOTSTRAP_TOKEN: must be an engineer token, ste_ followed by 43 base64url characters (make one with `support-api token`)",
      );
    }
  }

  const defaultTtlSeconds = int(
    "SUPPORT_TUNNEL_TTL_SECONDS",
    env.SUPPORT_TUNNEL_TTL_SECONDS,
    7200,
    60,
    7 * 24 * 3600,
  );
  const maxTtlSeconds = int(
    "SUPPORT_TUNNEL_MAX_TTL_SECONDS",
    env.SUPPORT_TUNNEL_MAX_TTL_SECONDS,
    86400,
    60,
    7 * 24 * 3600,
  );
  const sweepIntervalMs = int(
    "SUPPORT_SWEEP_INTERVAL_MS",
    env.SUPPORT_SWEEP_INTERVAL_MS,
    5000,
    100,
    3_600_000,
  );
  const longPollRereadMs = int(
    "SUPPORT_LONG_POLL_REREAD_MS",
    env.SUPPORT_LONG_POLL_REREAD_MS,
    5000,
    100,
    3_600_000,
  );
  const lastRequestFlushMs = int(
    "SUPPORT_LAST_REQUEST_FLUSH_MS",
    env.SUPPORT_LAST_REQUEST_FLUSH_MS,
    5000,
    100,
    3_600_000,
  );
  const rateLimitPerMinute = int(
    "SUPPORT_RATE_LIMIT_PER_MINUTE",
    env.SUPPORT_RATE_LIMIT_PER_MINUTE,
    30,
    1,
    1_000_000,
  );

  const trustRaw = env.SUPPORT_TRUST_PROXY ?? "0";
  if (!["0", "1", "", "true", "false"].includes(trustRaw)) {
    problems.push(`SUPPORT_TRUST_PROXY: must be 0 or 1 (got "${trustRaw}")`);
  }
  const trustProxy = trustRaw === "1" || trustRaw === "true";

  const logLevelRaw = (env.LOG_LEVEL || "info").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevelRaw)) {
    problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(", ")} (got "${env.LOG_LEVEL}")`);
  }

  if (problems.length) throw new ConfigError(problems);
  return {
    port,
    host,
    databaseUrl,
    dataDir,
    enrollmentSecret,
    bootstrapToken,
    defaultTtlSeconds: Math.min(defaultTtlSeconds, maxTtlSeconds),
    maxTtlSeconds,
    sweepIntervalMs,
    longPollRereadMs,
    lastRequestFlushMs,
    rateLimitPerMinute,
    trustProxy,
    logLevel: logLevelRaw as LogLevel,
  };
}
