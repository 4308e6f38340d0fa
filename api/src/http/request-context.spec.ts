import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Request, Response } from "express";
import {
  attachToldRequestContext,
  ClientGoneError,
  captureRequestContext,
  requestContextOf,
} from "./request-context";

/** A request whose peer is known until its socket is destroyed, as with a real socket. */
function arriving(ip: string): { req: Request; res: Response; destroy(): void } {
  let peer: string | undefined = ip;
  const req = {
    get ip() {
      return peer;
    },
    socket: {
      get remoteAddress() {
        return peer;
      },
    },
  } as unknown as Request;
  const res = Object.assign(new EventEmitter(), { writableFinished: false });
  return {
    req,
    res: res as unknown as Response,
    destroy: () => {
      peer = undefined;
      res.emit("close");
    },
  };
}

describe("request context", () => {
  it("keeps the address the request arrived from after its connection is gone", () => {
    const { req, res, destroy } = arriving("::ffff:198.51.100.4");
    captureRequestContext(req, res, () => undefined);
    destroy();
    assert.equal(requestContextOf(req).clientAddress, "198.51.100.4");
  });

  it("aborts the request's signal with ClientGoneError when the client leaves before its answer", () => {
    const { req, res, destroy } = arriving("198.51.100.5");
    captureRequestContext(req, res, () => undefined);
    const { signal } = requestContextOf(req);
    assert.equal(signal.aborted, false);
    destroy();
    assert.ok(signal.reason instanceof ClientGoneError);
    assert.equal(signal.reason.getStatus(), 499);
  });

  it("leaves the signal alone when the connection closes after the answer went out", () => {
    const { req, res } = arriving("198.51.100.6");
    captureRequestContext(req, res, () => undefined);
    (res as unknown as { writableFinished: boolean }).writableFinished = true;
    res.emit("close");
    assert.equal(requestContextOf(req).signal.aborted, false);
  });

  it("fires a told context's wait signal when its response closes unanswered, not after the answer", () => {
    const left = arriving("198.51.100.7");
    const leftContext = attachToldRequestContext(left.req, left.res);
    const woken: string[] = [];
    leftContext.waitSignal.addEventListener("abort", { handleEvent: () => woken.push("left") });
    assert.equal(leftContext.waitSignal.aborted, false);
    // The owner listens to close and tells the context, as the device edge does.
    left.res.on("close", () => leftContext.responseClosed());
    left.destroy();
    assert.equal(leftContext.waitSignal.aborted, true);
    assert.deepEqual(woken, ["left"]);

    const answered = arriving("198.51.100.8");
    const context = attachToldRequestContext(answered.req, answered.res);
    const listener = { handleEvent: () => woken.push("answered") };
    context.waitSignal.addEventListener("abort", listener);
    (answered.res as unknown as { writableFinished: boolean }).writableFinished = true;
    context.responseClosed();
    assert.equal(context.waitSignal.aborted, false);
    assert.deepEqual(woken, ["left"]);
  });
});
