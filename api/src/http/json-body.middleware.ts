// JSON bodies, at most 64 KiB, parsed by a Nest middleware rather than
// express's own: a body that is not JSON or too large becomes an ApiException
// naming `body`, answered by the ErrorFilter like every other error and
// logged with its request. A body sent as anything but JSON is a 415 on every
// route: left unparsed it would pass for no body at all, and a DELETE whose
// body is text/plain garbage would stop a tunnel as if it had none.
// readJsonBody reads a body the same way for the device edge (device-edge.ts).
import type { IncomingMessage } from "node:http";
import { Injectable, type NestMiddleware } from "@nestjs/common";
import express, { type NextFunction, type Request, type Response } from "express";
import { ApiException } from "../services/errors";

/** The largest body read, in bytes: body-parser's "64kb". */
export const JSON_BODY_LIMIT = 64 * 1024;

const parseJson = express.json({
  limit: JSON_BODY_LIMIT,
  type: ["application/json", "application/*+json"],
});

/** Bytes follow the headers: a length above zero, or a chunked body (possibly empty, unknowable yet). */
function hasBodyBytes(req: Request): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = Number(req.headers["content-length"] ?? 0);
  return !Number.isFinite(length) || length > 0;
}

/** The media type as sent, for the message; anything odd is not echoed. */
function mediaTypeOf(req: Request): string {
  const raw = req.headers["content-type"];
  if (!raw) return "no Content-Type";
  const type = raw.split(";")[0]!.trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/.test(type)
    ? type
    : "an invalid Content-Type";
}

/** body-parser's errors (http-errors): a 4xx status and a `type` saying what went wrong. */
function bodyError(err: unknown): ApiException {
  const e = err as { status?: number; type?: string; message?: string };
  const status = typeof e.status === "number" && e.status >= 400 && e.status < 500 ? e.status : 400;
  if (e.type === "entity.too.large") {
    return new ApiException(status, "body: too large (at most 64 KiB)", "body");
  }
  if (e.type === "entity.parse.failed") {
    return new ApiException(status, "body: must be valid JSON", "body");
  }
  return new ApiException(status, `body: ${e.message ?? "unreadable"}`, "body");
}

/** body-parser's strict mode: the top level is an object or an array, after RFC 8259's whitespace. */
const FIRST_NON_WHITESPACE = /^[ \t\n\r]*([^ \t\n\r]|$)/;

/** Decodes as body-parser's iconv-lite does: a leading BOM dropped, bad bytes replaced. */
const UTF8 = new TextDecoder("utf-8");

/** A body's bytes as the parser parses them: none is `{}`, as body-parser has it. */
function parseStrictJson(bytes: Buffer): unknown {
  const text = UTF8.decode(bytes);
  if (text.length === 0) return {};
  const first = FIRST_NON_WHITESPACE.exec(text)?.[1];
  if (first !== "{" && first !== "[") throw bodyError({ status: 400, type: "entity.parse.failed" });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw bodyError({ status: 400, type: "entity.parse.failed" });
  }
}

/** The bytes of a body of a known length, at most the limit whatever the header said. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > JSON_BODY_LIMIT) {
        chunks.length = 0;
        reject(bodyError({ status: 413, type: "entity.too.large" }));
      } else {
        chunks.push(chunk);
      }
    });
    req.once("end", () => resolve(Buffer.concat(chunks, size)));
    // A client gone before its body ended: raw-body's error (the answer reaches no one).
    const aborted = () => reject(bodyError({ status: 400, message: "request aborted" }));
    // After "end", "close" changes nothing: the promise is settled.
    req.once("error", aborted);
    req.once("close", aborted);
  });
}

/**
 * The body as the middleware below leaves it, for a request it never sees
 * (the device edge's DELETE). Only for what needs nothing more than this: a
 * body declared as application/json in UTF-8, not encoded, its length given
 * (node's parser then reads exactly that many bytes). No bytes announced is
 * no body (undefined), which the route's `emptyAs` stands in for.
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const length = req.headers["content-length"];
  if (length === undefined || length === "0") return undefined;
  if (Number(length) > JSON_BODY_LIMIT) throw bodyError({ status: 413, type: "entity.too.large" });
  return parseStrictJson(await readBody(req));
}

@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    // Most requests (every device poll) announce no body at all: nothing to
    // parse or refuse, as the parser would find (it skips them the same way).
    if (
      req.headers["transfer-encoding"] === undefined &&
      req.headers["content-length"] === undefined
    ) {
      if (!("body" in req)) (req as { body?: unknown }).body = undefined;
      return next();
    }
    // Thrown, not passed to next(): only a thrown error reaches Nest's exception filters.
    await new Promise<void>((resolve, reject) =>
      parseJson(req, res, (err?: unknown) => (err ? reject(bodyError(err)) : resolve())),
    );
    // The parser leaves alone what is not declared as JSON: bytes it did not read are refused.
    if (req.body === undefined && hasBodyBytes(req)) {
      throw new ApiException(
        415,
        `body: must be JSON (Content-Type: application/json), not ${mediaTypeOf(req)}`,
        "body",
      );
    }
    next();
  }
}
