// Structured logs: pino JSON lines on stdout, e.g.
//   {"level":"info","time":"…","msg":"listening","port":8080,"url":"http://127.0.0.1:8080"}
// One line per request (nestjs-pino / pino-http) with its id, the actor, the
// tunnel, the client's address and the response time, written when the answer
// has gone out or, if the client went away first, when it did ("request
// aborted"). Bodies are never logged; authorization headers, the enrollment
// secret and token fields are redacted.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type LoggerService,
  type NestInterceptor,
} from "@nestjs/common";
import { Logger, PinoLogger, type Params } from "nestjs-pino";
import type { Response } from "express";
import pino from "pino";
import { pinoHttp, type Options as RequestLogOptions } from "pino-http";
import { tap, type Observable } from "rxjs";
import type { LogLevel } from "../config";
import type { AuthenticatedRequest } from "./auth.guard";
import { requestContextOf } from "./request-context";

/** Where secrets could land in a log line: request headers and anything called token. */
const REDACTED_PATHS = [
  "req.headers.authorization",
  'req.headers["x-enrollment-secret"]',
  "token",
  "*.token",
  "bootstrapToken",
  "*.bootstrapToken",
];

/** The api's root logger; `destination` is for tests (default stdout). */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): pino.Logger {
  const options: pino.LoggerOptions = {
    level,
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Probes and scrapes: logged at debug so they don't drown the requests that matter. */
const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** A request id the client chose is kept when it is a plain token of sane length. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The warning for a change made after its client had gone (see RequestLogInterceptor). */
export const CHANGED_FOR_A_GONE_CLIENT =
  "the change was made, but its client went away before the answer";

/** Requests whose log bindings pino-http asked for once already (it asks at the start and the end). */
const asked = new WeakSet<object>();

/** The request's id, answered in X-Request-Id: the client's own when it is sane, else a new one. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers["x-request-id"];
  const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader("X-Request-Id", id);
  return id;
}

function requestLog(logger: pino.Logger): RequestLogOptions<AuthenticatedRequest, Response> {
  return {
    logger,
    genReqId: assignRequestId,
    // Only the end knows who called (the guards have run) and which tunnel it
    // was about; answering only then also keeps each key once in the line.
    customProps: (req, res) => {
      if (!asked.has(req)) {
        asked.add(req);
        return {};
      }
      const locals = res.locals as { tunnelId?: string; actor?: string };
      const tunnelId = locals.tunnelId;
      // The device edge names its actor in locals: it keeps no entity on a held long-poll.
      const actor = req.engineer
        ? `engineer:${req.engineer.name}`
        : req.deviceTunnel
          ? "device"
          : locals.actor;
      return {
        ...(actor ? { actor } : {}),
        ...(tunnelId ? { tunnelId } : {}),
        clientAddress: requestContextOf(req).clientAddress,
      };
    },
    customLogLevel: (req, res, err) => {
      if (err || res.statusCode >= 500) return "error";
      const path = (req.url ?? "").split("?")[0]!;
      return QUIET_PATHS.has(path) ? "debug" : "info";
    },
    // pino-http writes the line on `finish` or, when the client left first, on `close`.
    customSuccessMessage: (_req, res) =>
      res.writableFinished ? "request" : "request aborted: the client went away before its answer",
    customErrorMessage: () => "request failed",
  };
}

/**
 * The request log for requests answered outside express (the device edge):
 * the same line as nestjs-pino's, for a request whose `deviceTunnel` and
 * `res.locals.tunnelId` are set as the guards and the interceptor would.
 */
export function requestLogger(
  logger: pino.Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  const log = pinoHttp(requestLog(logger));
  return (req, res) => log(req as AuthenticatedRequest, res as Response);
}

/** nestjs-pino's module settings: request logs through `logger`. */
export function loggerParams(logger: pino.Logger): Params {
  return { pinoHttp: requestLog(logger) as unknown as RequestLogOptions };
}

/**
 * The logger Nest itself writes through. Nest's own start-up chatter (modules,
 * routes) comes as `log` and is debug detail for us.
 */
class NestLogger extends Logger {
  override log(message: unknown, ...optionalParams: unknown[]): void {
    super.debug(message, ...optionalParams);
  }
}

/** The `logger` option of NestFactory for an app or command logging through `logger`. */
export function nestLogger(logger: pino.Logger): LoggerService {
  const params = loggerParams(logger);
  return new NestLogger(new PinoLogger(params), params);
}

/**
 * Notes the tunnel a request is about, for its log line: the device token's
 * tunnel or the `:id` in the path, and for a new tunnel the id in its answer.
 * A write that succeeded although its client had gone (it left between the
 * last check and the commit) gets a warning of its own: the request line was
 * written when the client left, before anyone knew the change was made.
 */
@Injectable()
export class RequestLogInterceptor implements NestInterceptor {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext(RequestLogInterceptor.name);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<AuthenticatedRequest>();
    const res = http.getResponse<Response>();
    const known = req.deviceTunnel?.id ?? (req.params as { id?: string }).id;
    if (known) res.locals.tunnelId = known;
    return next.handle().pipe(
      tap((answer) => {
        const tunnelId = (answer as { tunnelId?: unknown } | undefined)?.tunnelId;
        if (typeof tunnelId === "string") res.locals.tunnelId = tunnelId;
        const { clientAddress, signal } = requestContextOf(req);
        if (req.method !== "GET" && signal.aborted) {
          this.logger.warn(
            {
              clientAddress,
              tunnelId: res.locals.tunnelId as string | undefined,
              actor: req.engineer ? `engineer:${req.engineer.name}` : undefined,
            },
            CHANGED_FOR_A_GONE_CLIENT,
          );
        }
      }),
    );
  }
}
