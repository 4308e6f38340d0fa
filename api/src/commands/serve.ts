// `support-api serve`: start the HTTP server (which opens, creates and
// migrates the database), print one "listening" log line, and shut down cleanly on SIGTERM/SIGINT.
import type { NestExpressApplication } from "@nestjs/platform-express";
import type { AddressInfo } from "node:net";
import { createApp } from "../app";
import { loadConfig, type ApiConfig, type ConfigOverrides, type Env } from "../config";
import type { Logger } from "pino";
import { createLogger } from "../http/logging";
import { systemClock, type Clock } from "../services/clock";

export interface RunningApi {
  app: NestExpressApplication;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the api in this process; used by `serve` and by the tests. */
export async function startApi(
  config: ApiConfig,
  opts: { clock?: Clock; logger?: Logger } = {},
): Promise<RunningApi> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const app = await createApp({ config, clock: opts.clock ?? systemClock, logger });
  try {
    await app.listen(config.port, config.host);
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | null = null;
  return {
    app,
    url,
    port,
    close: () => (closing ??= app.close()),
  };
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
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, "shutting down");
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      api.close().then(resolve, (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        resolve();
      });
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  logger.info("stopped");
}
