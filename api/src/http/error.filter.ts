// Every error leaves the api as `{statusCode, message, field?}`. Validation
// errors name the field; unexpected errors are logged and answered with a
// generic 500 so internals (SQL, stack traces) never reach a client.
import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from "@nestjs/common";
import { ValidationError } from "@support-tunnel/common";
import type { Response } from "express";
import type { JsonLogger } from "./json-logger";

@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: JsonLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    const { status, body } = this.toBody(exception);
    res.status(status).json(body);
  }

  private toBody(exception: unknown): {
    status: number;
    body: { statusCode: number; message: string; field?: string };
  } {
    if (exception instanceof ValidationError) {
      return {
        status: 400,
        body: { statusCode: 400, message: exception.message, field: exception.field },
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === "object" && response !== null) {
        const r = response as { message?: unknown; field?: unknown };
        const message = Array.isArray(r.message)
          ? r.message.join("; ")
          : typeof r.message === "string"
            ? r.message
            : exception.message;
        return {
          status,
          body: {
            statusCode: status,
            message,
            ...(typeof r.field === "string" ? { field: r.field } : {}),
          },
        };
      }
      return { status, body: { statusCode: status, message: String(response) } };
    }
    // body-parser errors (malformed JSON, body too large) carry a status of their own.
    const e = exception as { status?: number; type?: string; message?: string };
    if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) {
      const message =
        e.type === "entity.parse.failed"
          ? "body: must be valid JSON"
          : e.type === "entity.too.large"
            ? "body: too large"
            : (e.message ?? "bad request");
      return { status: e.status, body: { statusCode: e.status, message, field: "body" } };
    }
    this.logger.event("error", "unhandled error", {
      error: (exception as Error)?.message,
      stack: (exception as Error)?.stack,
    });
    return { status: 500, body: { statusCode: 500, message: "internal error" } };
  }
}
