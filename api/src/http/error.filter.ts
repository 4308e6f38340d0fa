// Every error leaves the api as `{statusCode, message, field?}`. Validation
// errors name the field; unexpected errors are logged and answered with a
// generic 500 so internals (SQL, stack traces) never reach a client; a change
// rolled back because its client had gone is logged, with nothing to answer.
import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from "@nestjs/common";
import { ValidationError } from "@support-tunnel/common";
import type { Request, Response } from "express";
import { PinoLogger } from "nestjs-pino";
import { ClientGoneError, requestContextOf } from "./request-context";

@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext(ErrorFilter.name);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof ClientGoneError) {
      // No one to answer; the line says who it was and that nothing was changed.
      const { clientAddress } = requestContextOf(host.switchToHttp().getRequest<Request>());
      this.logger.warn({ clientAddress }, exception.message);
      return;
    }
    if (res.headersSent) return;
    const answer = errorAnswer(exception);
    if (answer) {
      res.status(answer.status).json(answer.body);
      return;
    }
    this.logger.error({ err: exception }, "unhandled error");
    res.status(500).json(INTERNAL_ERROR);
  }
}

export interface ErrorAnswer {
  status: number;
  body: { statusCode: number; message: string; field?: string };
}

/** What an unexpected error answers: nothing about it. */
export const INTERNAL_ERROR = { statusCode: 500, message: "internal error" } as const;

/**
 * The answer to an error the api raised on purpose (a validation error or an
 * HttpException); null for an unexpected one, which the caller logs and
 * answers with INTERNAL_ERROR. Shared with the device edge (device-edge.ts).
 */
export function errorAnswer(exception: unknown): ErrorAnswer | null {
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
  return null;
}
