import assert from "node:assert/strict";
import { Readable } from "node:stream";
import type { NextFunction, Request, Response } from "express";
import type { ApiException } from "../services/errors";
import { JsonBodyMiddleware } from "./json-body.middleware";

/** A request carrying `body` (JSON unless told), as body-parser reads it off the socket. */
function requestWith(body: string, contentType: string | null = "application/json"): Request {
  return Object.assign(Readable.from([Buffer.from(body)]), {
    headers: {
      ...(contentType ? { "content-type": contentType } : {}),
      "content-length": String(Buffer.byteLength(body)),
    },
  }) as unknown as Request;
}

/** What the middleware threw: status and error body. */
async function refusal(req: Request): Promise<[number, unknown]> {
  try {
    await new JsonBodyMiddleware().use(
      req,
      {} as Response,
      (() => assert.fail("next called")) as NextFunction,
    );
  } catch (err) {
    const e = err as ApiException;
    return [e.getStatus(), e.getResponse()];
  }
  return assert.fail("nothing thrown");
}

describe("JsonBodyMiddleware", () => {
  const sut = new JsonBodyMiddleware();
  const res = {} as Response;

  it("hands the parsed body on", async () => {
    const req = requestWith('{"network":"10.1.0.0/30"}');
    let called = false;
    await sut.use(req, res, (() => (called = true)) as NextFunction);
    assert.equal(called, true);
    assert.deepEqual(req.body, { network: "10.1.0.0/30" });
  });

  it("throws a 400 naming the body for JSON it cannot parse, and a 413 past 64 KiB", async () => {
    const refused = (body: string) => refusal(requestWith(body));
    assert.deepEqual(await refused("{bad"), [
      400,
      { statusCode: 400, message: "body: must be valid JSON", field: "body" },
    ]);
    assert.deepEqual(await refused(JSON.stringify({ description: "x".repeat(70_000) })), [
      413,
      { statusCode: 413, message: "body: too large (at most 64 KiB)", field: "body" },
    ]);
  });

  it("refuses a body that is not JSON with a 415 naming its content type, instead of taking it for none", async () => {
    assert.deepEqual(await refusal(requestWith("stop it", "text/plain; charset=utf-8")), [
      415,
      {
        statusCode: 415,
        message: "body: must be JSON (Content-Type: application/json), not text/plain",
        field: "body",
      },
    ]);
    const [status, body] = await refusal(requestWith('{"reason":"x"}', null));
    assert.equal(status, 415);
    assert.match((body as { message: string }).message, /not no Content-Type$/);
  });

  it("lets a request with no body through with no body", async () => {
    const req = requestWith("", "text/plain");
    let called = false;
    await sut.use(req, res, (() => (called = true)) as NextFunction);
    assert.equal(called, true);
    assert.equal(req.body, undefined);
  });
});
