// The device edge: the device's `GET /v1/device/tunnel` (every device's poll
// and long-poll) and its `DELETE /v1/device/tunnel` (the stop that wakes a
// held long-poll), answered by plain node:http ahead of Nest and express, on
// the same server. The GET is the api's busiest route by far (every agent asks
// all the time, and a long-poll is held for up to 30 s), and Nest's pipeline,
// express's router and a per-request child logger cost it several times the
// lookup itself, and ~0.2 MiB per held long-poll; the same pipeline is a third
// of a stop's cost, and so of the wake-up it causes (issue 14). The edge only
// parses and answers: the rules (the token, the tunnel's view, the wait, the
// stop) are the services Nest wires, got from the app, the body is read as the
// JSON body middleware reads it, and the errors are the ErrorFilter's answers.
// The Nest routes stay declared (the OpenAPI document describes them), and
// whatever the edge does not take as its own (HEAD, another path spelling, a
// conditional GET, a GET with a body, a DELETE with a chunked, encoded or
// non-JSON body) goes on to express and is answered as it always was.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NestExpressApplication } from "@nestjs/platform-express";
import {
  parseWire,
  stateSchema,
  stopTunnelRequestSchema,
  waitSecondsSchema,
  type DeviceTunnelView,
} from "@support-tunnel/common";
import type { Logger } from "pino";
import pino from "pino";
import type { AppDeps } from "../app.module";
import { AuthService } from "../services/auth.service";
import { MetricsService } from "../services/metrics.service";
import { TunnelService } from "../services/tunnel.service";
import type { WaitSignal } from "../services/tunnel-watcher.service";
import { HttpDrain } from "./drain";
import { errorAnswer, INTERNAL_ERROR } from "./error.filter";
import { JSON_BODY_LIMIT, readJsonBody } from "./json-body.middleware";
import { assignRequestId, CHANGED_FOR_A_GONE_CLIENT, requestLogger } from "./logging";
import { attachToldRequestContext, ClientGoneError, type RequestContext } from "./request-context";
import { isLongPollUrl, secondsSince } from "./request-metrics";

/** The one route the edge answers, as the metrics and the OpenAPI document name it. */
export const DEVICE_TUNNEL_ROUTE = "/v1/device/tunnel";

type Query = Record<string, unknown>;
type Headers = IncomingMessage["headers"];

/** The body the agent sends (common's client), as body-parser takes it without more. */
const JSON_IN_UTF8 = /^application\/json[ \t]*(;[ \t]*charset=utf-8[ \t]*)?$/i;

/**
 * A poll the edge answers: a GET of exactly the route, any query, with no
 * body (the JSON body middleware would parse one) and no validators (express
 * would answer 304 to a matching one).
 */
function isPlainPoll(url: string, headers: Headers): boolean {
  const end = url.indexOf("?");
  return (
    (end === -1 ? url : url.slice(0, end)) === DEVICE_TUNNEL_ROUTE &&
    (headers["content-length"] === undefined || headers["content-length"] === "0") &&
    headers["if-none-match"] === undefined &&
    headers["if-modified-since"] === undefined
  );
}

/**
 * A stop the edge answers: a DELETE of exactly the route, with no body or a
 * JSON one the JSON body middleware would read without more (no charset but
 * UTF-8, no content encoding, within its limit), so readJsonBody can stand in.
 */
function isPlainStop(url: string, headers: Headers): boolean {
  if (url !== DEVICE_TUNNEL_ROUTE || headers["content-encoding"] !== undefined) return false;
  const length = headers["content-length"];
  if (length === undefined) return true;
  // No bytes and no type: the middleware has nothing to parse or refuse.
  if (length === "0" && headers["content-type"] === undefined) return true;
  return (
    /^\d{1,6}$/.test(length) &&
    Number(length) <= JSON_BODY_LIMIT &&
    JSON_IN_UTF8.test(headers["content-type"] ?? "")
  );
}

/** For a poll that does not wait: nothing listens to its signal. */
const NEVER_ABORTED = new AbortController().signal;

export interface DeviceEdgeDeps {
  auth: Pick<AuthService, "device">;
  tunnels: Pick<TunnelService, "deviceView" | "stopByDevice">;
  metrics: Pick<MetricsService, "observe">;
  drain: Pick<HttpDrain, "trackUntilTold" | "untrack">;
  logger: Logger;
  /** Express's query parser (its `query parser fn`), so `?wait=1&wait=2` means what it meant. */
  parseQuery: (query: string) => Query;
  /** Run on arrival, before the client's address is read (express's `req.ip`, for trust proxy). */
  prepare?: (req: IncomingMessage) => void;
}

/** What the request log and the error log read off a request, as the guards would leave it. */
type EdgeRequest = IncomingMessage;
type EdgeResponse = ServerResponse & { locals?: { actor?: "device"; tunnelId?: string } };

export class DeviceEdge {
  private readonly errorLog: Logger;
  /** Set when request lines are written at all: otherwise no per-request logger is made. */
  private readonly requestLog: ((req: IncomingMessage, res: ServerResponse) => void) | null;

  constructor(private readonly deps: DeviceEdgeDeps) {
    this.errorLog = deps.logger.child({ context: "DeviceEdge" });
    this.requestLog = deps.logger.isLevelEnabled("info") ? requestLogger(deps.logger) : null;
  }

  /** The requests the edge answers: see isPlainPoll and isPlainStop. */
  handles(req: IncomingMessage): boolean {
    const headers = req.headers;
    // A chunked body is the JSON body middleware's to read, whatever the method.
    if (headers["transfer-encoding"] !== undefined) return false;
    if (req.method === "GET") return isPlainPoll(req.url ?? "", headers);
    if (req.method === "DELETE") return isPlainStop(req.url ?? "", headers);
    return false;
  }

  async serve(req: EdgeRequest, res: EdgeResponse): Promise<void> {
    const start = process.hrtime.bigint();
    const url = req.url ?? "";
    const method = req.method === "DELETE" ? "DELETE" : "GET";
    this.deps.prepare?.(req);
    const context = attachToldRequestContext(req, res);
    const { drain, metrics } = this.deps;
    drain.trackUntilTold(res);
    // One listener for every concern, and nothing else per request until the
    // answer: thousands of long-polls are held at once (issue 14).
    res.on("close", () => {
      drain.untrack(res);
      context.responseClosed();
      // Only an answer that went out is a latency; a client gone is the request log's.
      if (res.writableFinished) {
        metrics.observe(
          method,
          DEVICE_TUNNEL_ROUTE,
          res.statusCode,
          secondsSince(start),
          isLongPollUrl(url),
        );
      }
    });
    res.locals = {};
    // Without request lines, the request id is only the answer's header: set when answering.
    if (this.requestLog) this.requestLog(req, res);
    try {
      const view =
        method === "GET"
          ? await this.viewOf(req, res, url, context)
          : await this.stopOf(req, res, context);
      this.answer(req, res, 200, view);
    } catch (err) {
      this.failSafely(req, res, context, start, err);
    }
  }

  /**
   * The answer's view, in a frame of its own that is done once the wait
   * begins: a held long-poll keeps neither the tunnel's entity nor the query.
   * The actor and the tunnel go in `res.locals` for the logs, not the entity.
   */
  private async viewOf(
    req: EdgeRequest,
    res: EdgeResponse,
    url: string,
    context: RequestContext & { readonly waitSignal: WaitSignal },
  ): Promise<DeviceTunnelView> {
    // In Nest's order: the guard (the token), then the query values, the last
    // parameter first (decorators apply bottom-up), so a bad `since` names itself first.
    const tunnel = await this.deps.auth.device(req.headers.authorization);
    res.locals = { actor: "device", tunnelId: tunnel.id };
    const query = this.queryOf(url);
    // An absent value passes an optional schema as itself: only given ones are parsed.
    const since =
      query.since === undefined
        ? undefined
        : parseWire(stateSchema.optional(), query.since, "since");
    const wait =
      query.wait === undefined
        ? undefined
        : parseWire(waitSecondsSchema.optional(), query.wait, "wait");
    return this.deps.tunnels.deviceView(tunnel, {
      waitSeconds: wait,
      since,
      // Only a long-poll waits, and only a wait needs to know the client went.
      signal: wait ? context.waitSignal : NEVER_ABORTED,
    });
  }

  /**
   * The device's stop, in Nest's order: the JSON body middleware (a body
   * that is not JSON is refused before the token is looked at), the guard,
   * the body's schema (none is `{}`), then the stop, which a client already
   * gone does not make (the context's signal).
   */
  private async stopOf(
    req: EdgeRequest,
    res: EdgeResponse,
    context: RequestContext,
  ): Promise<DeviceTunnelView> {
    const body = await readJsonBody(req);
    const tunnel = await this.deps.auth.device(req.headers.authorization);
    res.locals = { actor: "device", tunnelId: tunnel.id };
    const { reason } = parseWire(stopTunnelRequestSchema, body ?? {}, "body");
    const view = await this.deps.tunnels.stopByDevice(tunnel, reason, context);
    // As the RequestLogInterceptor: the request line was written when the client left.
    if (context.signal.aborted) {
      this.errorLog.warn(
        { clientAddress: context.clientAddress, tunnelId: tunnel.id },
        CHANGED_FOR_A_GONE_CLIENT,
      );
    }
    return view;
  }

  /**
   * fail(), and if answering the failure fails too, the connection cut. Here
   * rather than in a `.catch` on serve's promise: that is one more promise
   * and reaction per held long-poll.
   */
  private failSafely(
    req: EdgeRequest,
    res: EdgeResponse,
    context: RequestContext,
    start: bigint,
    err: unknown,
  ): void {
    try {
      this.fail(req, res, context, start, err);
    } catch (failed) {
      this.deps.logger.error({ err: failed }, "device edge: the answer failed");
      res.destroy();
    }
  }

  private queryOf(url: string): Query {
    const at = url.indexOf("?");
    return at === -1 ? {} : this.deps.parseQuery(url.slice(at + 1));
  }

  private answer(req: IncomingMessage, res: ServerResponse, status: number, body: object): void {
    if (!this.requestLog) assignRequestId(req, res);
    const json = JSON.stringify(body);
    res.writeHead(status, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": Buffer.byteLength(json),
    });
    res.end(json);
  }

  /** As the ErrorFilter answers, and logged as it and the request log would. */
  private fail(
    req: EdgeRequest,
    res: EdgeResponse,
    context: RequestContext,
    start: bigint,
    err: unknown,
  ): void {
    if (err instanceof ClientGoneError) {
      this.errorLog.warn({ clientAddress: context.clientAddress }, err.message);
      return;
    }
    if (res.headersSent) return;
    const known = errorAnswer(err);
    if (known) {
      this.answer(req, res, known.status, known.body);
      return;
    }
    this.errorLog.error({ err }, "unhandled error");
    this.answer(req, res, 500, INTERNAL_ERROR);
    // Without request lines below info, a failed request still gets its line, as with pino-http.
    if (!this.requestLog && this.deps.logger.isLevelEnabled("error")) {
      this.deps.logger.error(
        {
          req: pino.stdSerializers.req(req),
          res: pino.stdSerializers.res(res),
          responseTime: Math.round(secondsSince(start) * 1000),
          ...res.locals,
          clientAddress: context.clientAddress,
        },
        "request failed",
      );
    }
  }
}

/**
 * Puts the edge in front of the app's express handler on its HTTP server:
 * the requests it takes are answered by it, every other goes to express.
 */
export function installDeviceEdge(app: NestExpressApplication, deps: AppDeps): DeviceEdge {
  const express = app.getHttpAdapter().getInstance();
  const request = (express as unknown as { request: object }).request;
  const edge = new DeviceEdge({
    auth: app.get(AuthService),
    tunnels: app.get(TunnelService),
    metrics: app.get(MetricsService),
    drain: app.get(HttpDrain),
    logger: deps.logger,
    // With no query parser set, express's req.query is {}.
    parseQuery:
      (express.get("query parser fn") as ((query: string) => Query) | undefined) ?? (() => ({})),
    // Behind a trusted proxy the address is express's `req.ip`, from the request's prototype.
    prepare: deps.config.trustProxy ? (req) => void Object.setPrototypeOf(req, request) : undefined,
  });
  const server = app.getHttpServer();
  const [toExpress, ...others] = server.listeners("request") as ((
    req: IncomingMessage,
    res: ServerResponse,
  ) => void)[];
  if (!toExpress || others.length > 0) {
    throw new Error("device edge: expected express as the HTTP server's one request listener");
  }
  server.removeListener("request", toExpress);
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (!edge.handles(req)) return toExpress(req, res);
    // serve() answers its own errors, and a failure in answering one, so it never rejects.
    void edge.serve(req, res);
  });
  return edge;
}
