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
    this.logger.error({ err: exception }, "unhandled error");
    return { status: 500, body: { statusCode: 500, message: "internal error" } };
  }
}
