// JSON bodies, at most 64 KiB, parsed by a Nest middleware rather than
// express's own: a body that is not JSON or too large becomes an ApiException
// naming `body`, answered by the ErrorFilter like every other error and
// logged with its request. A body sent as anything but JSON is a 415 on every
// route: left unparsed it would pass for no body at all, and a DELETE whose
// body is text/plain garbage would stop a tunnel as if it had none.
import { Injectable, type NestMiddleware } from "@nestjs/common";
import express, { type NextFunction, type Request, type Response } from "express";
import { ApiException } from "../services/errors";

const parseJson = express.json({
  limit: "64kb",
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
