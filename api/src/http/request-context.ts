// What a handler may need to know about the HTTP exchange itself: the client's
// address (for the audit log, the request log and the rate limit) and a signal
// that fires when the client goes away before its answer (so a long-poll stops
// waiting for nobody, and a change whose answer can't be given is not made).
import { createParamDecorator, type ExecutionContext } from "@nestjs/common";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NextFunction, Request, Response } from "express";
import { ApiException } from "../services/errors";
import type { WaitListener, WaitSignal } from "../services/tunnel-watcher.service";

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
 * A long-poll's wait signal on the device edge: aborted when its response
 * closes unanswered. An AbortSignal does the same with an AbortController, an
 * EventTarget, a listener map and a listener record; the edge holds thousands
 * of long-polls at once (issue 14), and a wait has one listener.
 */
class ResponseGoneSignal implements WaitSignal {
  aborted = false;
  private listener: WaitListener | null = null;
  private others: WaitListener[] | null = null;

  addEventListener(_type: "abort", listener: WaitListener): void {
    if (this.aborted) return;
    if (!this.listener) this.listener = listener;
    else (this.others ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: WaitListener): void {
    if (this.listener === listener) this.listener = null;
    else if (this.others?.includes(listener)) this.others.splice(this.others.indexOf(listener), 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = [...(this.listener ? [this.listener] : []), ...(this.others ?? [])];
    this.listener = null;
    this.others = null;
    for (const listener of listeners) listener.handleEvent();
  }
}

/**
 * The signal is made when first asked for: only a long-poll or a change needs
 * one, and the device's plain polls, the api's most requests by far, would
 * otherwise each make an AbortController and its listener for nothing.
 */
class ArrivedContext implements RequestContext {
  private controller: AbortController | null = null;
  private gone: ResponseGoneSignal | null = null;

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

  /** As `signal`, for a wait; without an AbortController when told of the close. */
  get waitSignal(): WaitSignal {
    if (!this.toldOfClose) return this.signal;
    if (!this.gone) {
      this.gone = new ResponseGoneSignal();
      if (this.res.closed) this.responseClosed();
    }
    return this.gone;
  }

  /** The response closed: before its answer went out, the client has gone. */
  responseClosed(): void {
    if (this.res.writableFinished) return;
    this.controller?.abort(new ClientGoneError());
    this.gone?.abort();
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
): RequestContext & { responseClosed(): void; readonly waitSignal: WaitSignal } {
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
