// Shared by the device, engineer and end-to-end tests: the real api as a child
// process (`node api/dist/bin.js serve`).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execa, type ResultPromise } from "execa";
import type { LabHost } from "./host";

/** The repository root (this file is scripts/lab/dist/api-process.js once built). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
export const API_BIN = path.join(REPO_ROOT, "api", "dist", "bin.js");

export interface StartApiOptions {
  /** postgres://... (given to the api as DATABASE_URL); without it the api uses embedded PGlite. */
  databaseUrl?: string;
  /** PGlite data dir; default a fresh temp dir removed by stop(). Ignored with databaseUrl. */
  dataDir?: string;
  /** Extra environment (SUPPORT_BOOTSTRAP_TOKEN, SUPPORT_ENROLLMENT_SECRET, LOG_LEVEL...). */
  env?: Record<string, string>;
  /**
   * Address to listen on. Default 127.0.0.1 in the root namespace, 0.0.0.0
   * inside `inHost`. With a lab, pass `lab.rootAddress` so lab hosts reach it.
   */
  host?: string;
  /** Run the api inside this lab host instead of the root namespace. */
  inHost?: LabHost;
  /** How long to wait for the "listening" line; default 60 s. */
  timeoutMs?: number;
}

export interface ApiProcess {
  /** Base URL to reach the api, e.g. http://100.64.7.1:40123 */
  url: string;
  port: number;
  process: ResultPromise;
  /** PGlite data directory, or null with databaseUrl. */
  dataDir: string | null;
  /** Everything the api printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; removes a temp data dir it created. Idempotent. */
  stop(): Promise<void>;
}

export async function startApiProcess(options: StartApiOptions = {}): Promise<ApiProcess> {
  if (!fs.existsSync(API_BIN))
    throw new Error(`api not built: ${API_BIN} missing (run npx tsc -b api)`);
  const listenHost = options.host ?? (options.inHost ? "0.0.0.0" : "127.0.0.1");
  const ownDataDir = !options.databaseUrl && !options.dataDir;
  const dataDir = options.databaseUrl
    ? null
    : (options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "st-api-")));
  const args = [API_BIN, "serve", "--port", "0", "--host", listenHost];
  if (dataDir) args.push("--data-dir", dataDir);
  const env: Record<string, string> = {
    ...stringEnv(process.env),
    // never inherit a DATABASE_URL by accident: the caller chooses the database
    DATABASE_URL: options.databaseUrl ?? "",
    ...(options.env ?? {}),
  };
  const child = options.inHost
    ? options.inHost.spawn(process.execPath, args, { env, stdin: "ignore", buffer: false })
    : execa(process.execPath, args, {
        env,
        extendEnv: false,
        stdin: "ignore",
        buffer: false,
        reject: false,
      });

  let output = "";
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await Promise.resolve(child).catch(() => undefined);
        clearTimeout(timer);
      } else {
        await Promise.resolve(child).catch(() => undefined);
      }
      if (ownDataDir && dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    })());

  try {
    const port = await new Promise<number>((resolve, reject) => {
      let pending = "";
      const timer = setTimeout(
        () =>
          reject(
            new Error(`api did not print "listening" within ${timeoutOf(options)} ms:\n${output}`),
          ),
        timeoutOf(options),
      );
      child.stdout?.on("data", (d: Buffer) => {
        output += d.toString();
        pending += d.toString();
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          const port = listeningPort(line);
          if (port !== null) {
            clearTimeout(timer);
            resolve(port);
          }
        }
      });
      child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`api exited (${code ?? signal}) before listening:\n${output}`));
      });
    });
    const advertised =
      listenHost === "0.0.0.0" ? (options.inHost?.address ?? "127.0.0.1") : listenHost;
    return {
      url: `http://${advertised}:${port}`,
      port,
      process: child,
      dataDir,
      output: () => output,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function timeoutOf(options: StartApiOptions): number {
  return options.timeoutMs ?? 60_000;
}

/** The port of the api's `{"msg":"listening","port":...}` log line, or null for any other line. */
export function listeningPort(line: string): number | null {
  try {
    const entry = JSON.parse(line) as { msg?: unknown; port?: unknown };
    return entry.msg === "listening" && typeof entry.port === "number" ? entry.port : null;
  } catch {
    return null;
  }
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
}
