// Structured logs: one JSON object per line on stdout, e.g.
//   {"time":"…","level":"info","msg":"listening","port":8080,"url":"http://127.0.0.1:8080"}
// Never given tokens, keys or bodies.
import type { LoggerService } from "@nestjs/common";
import type { LogLevel } from "../config";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export class JsonLogger implements LoggerService {
  constructor(
    private readonly level: LogLevel = "info",
    private readonly write: (line: string) => void = (line) => process.stdout.write(line + "\n"),
  ) {}

  event(
    level: Exclude<LogLevel, "silent">,
    msg: string,
    fields: Record<string, unknown> = {},
    opts: { always?: boolean } = {},
  ): void {
    if (!opts.always && ORDER[level] < ORDER[this.level]) return;
    this.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
  }

  // Nest's LoggerService: messages from the framework itself.
  // Nest's own start-up chatter (modules, routes) is debug detail for us.
  log(message: unknown, context?: string): void {
    this.event("debug", String(message), context ? { context } : {});
  }
  error(message: unknown, stack?: string, context?: string): void {
    this.event("error", String(message), {
      ...(context ? { context } : {}),
      ...(stack ? { stack } : {}),
    });
  }
  warn(message: unknown, context?: string): void {
    this.event("warn", String(message), context ? { context } : {});
  }
  debug(message: unknown, context?: string): void {
    this.event("debug", String(message), context ? { context } : {});
  }
  verbose(message: unknown, context?: string): void {
    this.event("debug", String(message), context ? { context } : {});
  }
}

export const JSON_LOGGER = Symbol("JsonLogger");
