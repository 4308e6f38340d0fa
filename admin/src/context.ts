// What every command is handed: the printer, the resolved config and factories
// for the side-effecting adapters, built once from the common flags.
import { nodeHttpFetch, Printer, SupportApiClient } from "@support-tunnel/common";
import type { Environment, ResolvedConfig } from "./config";
import { readEnvironment, requireApi, resolveConfig } from "./config";
import { FileServerRecordStore, type ServerRecordStore } from "./server-records";

/** Flags every command takes. */
export interface CommonFlags {
  json?: boolean;
  config?: string;
  quiet?: boolean;
}

/** The process's streams and environment; tests pass their own. */
export interface MainIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** How long to insist on an api that does not answer (the client's defaults: 3 retries, 10 s). */
export interface ApiPatience {
  retries?: number;
  timeoutMs?: number;
}

export interface Context {
  printer: Printer;
  env: Environment;
  config: ResolvedConfig;
  /** The terminal's width when stdout is one: tables are cut to it. */
  terminalColumns?: number;
  /** The api client for the logged-in engineer; throws "not logged in" without a url and token. */
  api(patience?: ApiPatience): SupportApiClient;
  /** Where each tunnel's server is recorded on this machine. */
  records(): ServerRecordStore;
}

/** The printer a command gets before its flags are known (usage errors, a bad config). */
export function plainPrinter(io: MainIo): Printer {
  return new Printer({ stdout: io.stdout, stderr: io.stderr, json: false, tty: false });
}

export async function createContext(flags: CommonFlags, io: MainIo): Promise<Context> {
  const base = readEnvironment(io.env);
  const env: Environment = flags.config ? { ...base, configPath: flags.config } : base;
  const printer = new Printer({
    stdout: io.stdout,
    stderr: io.stderr,
    json: flags.json === true,
    tty: env.stderrIsTty,
    quiet: flags.quiet,
  });
  const config = await resolveConfig(env);
  return {
    printer,
    env,
    config,
    terminalColumns: io.stdout.isTTY ? io.stdout.columns : undefined,
    api: (patience) => apiClientFor(config, patience),
    records: () => new FileServerRecordStore(config.dir),
  };
}

export function apiClientFor(config: ResolvedConfig, patience: ApiPatience = {}): SupportApiClient {
  const { apiUrl, token } = requireApi(config);
  return new SupportApiClient({
    baseUrl: apiUrl,
    token,
    userAgent: "support-cli/0.1",
    // node:http, not the global fetch: undici's bundle and its HTTP parser cost a
    // one-shot CLI ~0.1 s of CPU before its first answer, on every command.
    fetch: nodeHttpFetch,
    ...patience,
  });
}
