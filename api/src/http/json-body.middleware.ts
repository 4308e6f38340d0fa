// JSON bodies, at most 64 KiB, parsed by a Nest middleware rather than
// express's own: a body that is not JSON or too large becomes an ApiException
// naming `body`, answered by the ErrorFilter like every other error and
// logged with its request.
import { Injectable, type NestMiddleware } from "@nestjs/common";
import express, { type NextFunction, type Request, type Response } from "express";
import { ApiException } from "../services/errors";

const parseJson = express.json({
  limit: "64kb",
  type: ["application/json", "application/*+json"],
});

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
    // Thrown, not passed to next(): only a thrown error reaches Nest's exception filters.
    await new Promise<void>((resolve, reject) =>
      parseJson(req, res, (err?: unknown) => (err ? reject(bodyError(err)) : resolve())),
    );
    next();
  }
}
