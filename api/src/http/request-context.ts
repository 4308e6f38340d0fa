// What a handler may need to know about the HTTP exchange itself: the client's
// address (for the audit log and rate limit) and a signal that fires when the
// client goes away (so a long-poll stops waiting for nobody).
import { createParamDecorator, type ExecutionContext } from "@nestjs/common";
import type { Request, Response } from "express";

export interface RequestContext {
  clientAddress: string | null;
  /** Aborted when the client disconnects before the answer is sent. */
  signal: AbortSignal;
}

/**
 * `req.ip` honours X-Forwarded-For only when the app is set to trust one proxy
 * hop (SUPPORT_TRUST_PROXY=1); otherwise it is the socket's peer.
 */
export function clientAddressOf(req: Request): string | null {
  const raw = req.ip ?? req.socket.remoteAddress ?? null;
  return raw?.startsWith("::ffff:") ? raw.slice(7) : raw;
}

export const Ctx = createParamDecorator((_: unknown, context: ExecutionContext): RequestContext => {
  const http = context.switchToHttp();
  const req = http.getRequest<Request>();
  const res = http.getResponse<Response>();
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return { clientAddress: clientAddressOf(req), signal: controller.signal };
});
