// HTTP errors with the api's error body: `{statusCode, message, field?}`.
// Messages are stable: clients and tests match on them.
import { HttpException, HttpStatus } from "@nestjs/common";

export class ApiException extends HttpException {
  constructor(status: number, message: string, field?: string) {
    super({ statusCode: status, message, ...(field ? { field } : {}) }, status);
  }
}

export const badRequest = (message: string, field?: string) =>
  new ApiException(HttpStatus.BAD_REQUEST, message, field);
export const unauthorized = (message: string, field = "authorization") =>
  new ApiException(HttpStatus.UNAUTHORIZED, message, field);
export const forbidden = (message: string) => new ApiException(HttpStatus.FORBIDDEN, message);
export const notFound = (message: string, field?: string) =>
  new ApiException(HttpStatus.NOT_FOUND, message, field);
export const conflict = (message: string) => new ApiException(HttpStatus.CONFLICT, message);
