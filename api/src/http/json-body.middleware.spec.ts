import assert from "node:assert/strict";
import { Readable } from "node:stream";
import type { NextFunction, Request, Response } from "express";
import type { ApiException } from "../services/errors";
import { JsonBodyMiddleware } from "./json-body.middleware";

/** A request carrying `body` as JSON, as body-parser reads it off the socket. */
function requestWith(body: string): Request {
  return Object.assign(Readable.from([Buffer.from(body)]), {
    headers: {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
    },
  }) as unknown as Request;
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
    const refused = async (body: string) => {
      try {
        await sut.use(requestWith(body), res, (() => assert.fail("next called")) as NextFunction);
      } catch (err) {
        const e = err as ApiException;
        return [e.getStatus(), e.getResponse()];
      }
      return assert.fail("nothing thrown");
    };
    assert.deepEqual(await refused("{bad"), [
      400,
      { statusCode: 400, message: "body: must be valid JSON", field: "body" },
    ]);
    assert.deepEqual(await refused(JSON.stringify({ description: "x".repeat(70_000) })), [
      413,
      { statusCode: 413, message: "body: too large (at most 64 KiB)", field: "body" },
    ]);
  });
});
