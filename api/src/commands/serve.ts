// `support-api serve`: start the HTTP server (which opens, creates and
// migrates the database), print one "listening" log line, and shut down cleanly
// on SIGTERM/SIGINT: held long-polls answer, connections close, the database
// (and the embedded one's directory lock) is released, within a bounded time.
import type { NestExpressApplication } from "@nestjs/platform-express";
import type { AddressInfo } from "node:net";
import { createApp } from "../app";
import { loadConfig, type ApiConfig, type ConfigOverrides, type Env } from "../config";
import type { Logger } from "pino";
import { HttpDrain } from "../http/drain";
import { createLogger } from "../http/logging";
import { systemClock, type Clock } from "../services/clock";
import { TunnelWatcher } from "../services/tunnel-watcher.service";

/** How long connections may take to finish their answers at shutdown before they are cut. */
export const SHUTDOWN_GRACE_MS = 5000;

/**
 * Connections the kernel may queue before the api accepts them (Linux caps it
 * at net.core.somaxconn). Node's default, 511, overflowed when thousands of
 * devices (re)connect at once, as after a restart: the kernel dropped or reset
 * the overflow while the event loop was busy answering the first ones.
 */
export const LISTEN_BACKLOG = 4096;

export interface ShutdownSummary {
  /** Long-polls that were waiting and were answered early. */
  wokenLongPolls: number;
  /** Some connections were still open after the grace period and were cut. */
  forcedConnections: boolean;
}

export interface RunningApi {
  app: NestExpressApplication;
  url: string;
  port: number;
  /** Stops the api (once; later calls share the first). */
  close(): Promise<ShutdownSummary>;
}

/** Starts the api in this process; used by `serve` and by the tests. */
export async function startApi(
  config: ApiConfig,
  opts: { clock?: Clock; logger?: Logger } = {},
): Promise<RunningApi> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const app = await createApp({ config, clock: opts.clock ?? systemClock, logger });
  try {
    // Nest passes a third argument on to server.listen as its backlog.
    const listen = app.listen.bind(app) as unknown as (
      port: number,
      host: string,
      backlog: number,
    ) => Promise<unknown>;
    await listen(config.port, config.host, LISTEN_BACKLOG);
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let closing: Promise<ShutdownSummary> | null = null;
  const shutdown = async (): Promise<ShutdownSummary> => {
    const watcher = app.get(TunnelWatcher);
    const wokenLongPolls = watcher.waiting;
    // drain() marks the server draining before it first yields, so the woken
    // long-polls' answers already say that their connection closes.
    const drained = app.get(HttpDrain).drain(app.getHttpServer(), SHUTDOWN_GRACE_MS);
    watcher.close();
    const { forced } = await drained;
    // Then the rest: the sweep, the database and the embedded one's lock.
    await app.close();
    return { wokenLongPolls, forcedConnections: forced };
  };
  return { app, url, port, close: () => (closing ??= shutdown()) };
}

export async function serve(options: ConfigOverrides, env?: Env): Promise<void> {
  const config = loadConfig(env, options);
  const logger = createLogger(config.logLevel);
  const api = await startApi(config, { logger });
  // Printed whatever LOG_LEVEL says: scripts and tests wait for this line to learn the port.
  logger.child({}, { level: "info" }).info(
    {
      port: api.port,
      url: api.url,
      database: config.databaseUrl ? "postgres" : "pglite",
      ...(config.databaseUrl ? {} : { dataDir: config.dataDir }),
    },
    "listening",
  );
  // Shutdown is logged whatever LOG_LEVEL says, like "listening": an operator
  // needs to see that (and how) it stopped.
  const always = logger.child({}, { level: "info" });
  await new Promise<void>((resolve, reject) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second Ctrl-C: the operator will not wait. The lock is released on exit.
        process.off("SIGTERM", stop);
        process.off("SIGINT", stop);
        reject(new Error(`stopped at once by a second ${signal}, before the shutdown finished`));
        return;
      }
      stopping = true;
      const started = Date.now();
      always.info({ signal, graceMs: SHUTDOWN_GRACE_MS }, "shutting down");
      api.close().then(
        (summary) => {
          always.info({ ...summary, ms: Date.now() - started }, "stopped");
          resolve();
        },
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          resolve();
        },
      );
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
