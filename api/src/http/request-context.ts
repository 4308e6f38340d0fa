// What a handler may need to know about the HTTP exchange itself: the client's
// address (for the audit log, the request log and the rate limit) and a signal
// that fires when the client goes away before its answer (so a long-poll stops
// waiting for nobody, and a change whose answer can't be given is not made).
import { createParamDecorator, type ExecutionContext } from "@nestjs/common";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NextFunction, Request, Response } from "express";
import { ApiException } from "../services/errors";

export interface RequestContext {
  clientAddress: string | null;
  /** Aborted, with a ClientGoneError, when the client disconnects before the answer is sent. */
  signal: AbortSignal;
}

/**
 * Why a change was rolled back: its client had gone, so no one could be told.
 * 499 as nginx logs it; the answer reaches no one, the log line does.
 */
export class ClientGoneError extends ApiException {
  constructor() {
    super(499, "the client went away before its answer; nothing was changed");
  }
}

const CONTEXT = Symbol("support-tunnel:request-context");
/** A request as node:http gives it, with express's `ip` when express has seen it. */
type ArrivedRequest = IncomingMessage & { ip?: string };
type WithContext = ArrivedRequest & { [CONTEXT]?: RequestContext };

/**
 * `req.ip` honours X-Forwarded-For only when the app is set to trust one proxy
 * hop (SUPPORT_TRUST_PROXY=1); otherwise it is the socket's peer.
 */
function addressOf(req: ArrivedRequest): string | null {
  const raw = req.ip ?? req.socket.remoteAddress ?? null;
  return raw?.startsWith("::ffff:") ? raw.slice(7) : raw;
}

/**
 * The signal is made when first asked for: only a long-poll or a change needs
 * one, and the device's plain polls, the api's most requests by far, would
 * otherwise each make an AbortController and its listener for nothing.
 */
class ArrivedContext implements RequestContext {
  private controller: AbortController | null = null;

  constructor(
    readonly clientAddress: string | null,
    private readonly res: ServerResponse,
    /** Whether the owner calls responseClosed() itself, from a close listener it has anyway. */
    private readonly toldOfClose: boolean,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      // Asked for after the client went: already aborted.
      if (this.res.closed) this.responseClosed();
      else if (!this.toldOfClose) this.res.once("close", () => this.responseClosed());
      return controller.signal;
    }
    return this.controller.signal;
  }

  /** The response closed: before its answer went out, the client has gone. */
  responseClosed(): void {
    if (this.controller && !this.res.writableFinished) {
      this.controller.abort(new ClientGoneError());
    }
  }
}

/**
 * Takes the client's address when the request arrives; its signal fires when
 * the client goes. Read later, the address may be gone: a valid request
 * followed by garbage on the same connection gets the connection destroyed
 * while the request is still being handled, and a destroyed socket has no peer.
 */
export function attachRequestContext(req: ArrivedRequest, res: ServerResponse): RequestContext {
  const context = new ArrivedContext(addressOf(req), res, false);
  (req as WithContext)[CONTEXT] = context;
  return context;
}

/**
 * As attachRequestContext, for a caller that listens to the response's
 * `close` itself and calls `responseClosed()` from there (the device edge:
 * one listener per held long-poll instead of one per concern).
 */
export function attachToldRequestContext(
  req: ArrivedRequest,
  res: ServerResponse,
): RequestContext & { responseClosed(): void } {
  const context = new ArrivedContext(addressOf(req), res, true);
  (req as WithContext)[CONTEXT] = context;
  return context;
}

/** Express middleware, first in line: see attachRequestContext. */
export function captureRequestContext(req: Request, res: Response, next: NextFunction): void {
  attachRequestContext(req, res);
  next();
}

/** The context captured on arrival (or, for a request that bypassed the middleware, one made now). */
export function requestContextOf(req: ArrivedRequest): RequestContext {
  const withContext = req as WithContext;
  return (withContext[CONTEXT] ??= {
    clientAddress: addressOf(req),
    signal: new AbortController().signal,
  });
}

export const Ctx = createParamDecorator((_: unknown, context: ExecutionContext): RequestContext =>
  requestContextOf(context.switchToHttp().getRequest<Request>()),
);
