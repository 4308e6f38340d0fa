// Validation at the edge: every body, parameter and query value goes through
// one of the wire schemas from common before a service sees it, and the same
// schema describes it in the OpenAPI document, so each is named once per value.
// A ValidationError becomes a 400 naming the field (see error.filter.ts).
import {
  Body,
  Param,
  Query,
  createParamDecorator,
  type ExecutionContext,
  type PipeTransform,
} from "@nestjs/common";
import {
  ApiBody,
  ApiHeader,
  ApiParam,
  ApiQuery,
  ApiUnsupportedMediaTypeResponse,
} from "@nestjs/swagger";
import { parseWire, ValidationError } from "@support-tunnel/common";
import type { Request } from "express";
import type { z } from "zod";
import { openApiSchema } from "../dtos/openapi";

class WirePipe implements PipeTransform<unknown, unknown> {
  /** `what` names the value when the error is about it as a whole (e.g. `body`, `id`). */
  constructor(
    private readonly schema: z.ZodType,
    private readonly what: string,
    private readonly opts: { emptyAs?: unknown } = {},
  ) {}

  transform(value: unknown): unknown {
    const input = value === undefined && "emptyAs" in this.opts ? this.opts.emptyAs : value;
    if (input === undefined && this.what === "body") {
      // No body, or one express didn't parse because it wasn't declared as JSON.
      throw new ValidationError(
        "body: must be a JSON object (sent with Content-Type: application/json)",
        "body",
      );
    }
    return parseWire(this.schema, input, this.what);
  }
}

/** Applies a swagger method decorator from inside a parameter decorator. */
function describeMethod(
  target: object,
  key: string | symbol | undefined,
  decorator: MethodDecorator,
) {
  const descriptor = key === undefined ? undefined : Object.getOwnPropertyDescriptor(target, key);
  if (!descriptor || key === undefined) throw new Error("wire parameters belong on route handlers");
  decorator(target, key, descriptor);
}

/** The JSON body; `emptyAs` is what a missing body stands for (the body is then optional). */
export function WireBody(schema: z.ZodType, opts: { emptyAs?: unknown } = {}): ParameterDecorator {
  return (target, key, index) => {
    Body(new WirePipe(schema, "body", opts))(target, key, index);
    describeMethod(
      target,
      key,
      ApiBody({ schema: openApiSchema(schema), required: !("emptyAs" in opts) }),
    );
    describeMethod(
      target,
      key,
      ApiUnsupportedMediaTypeResponse({
        description: "a body that is not application/json (see JsonBodyMiddleware)",
      }),
    );
  };
}

/** One query value, e.g. `?wait=S`. */
export function WireQuery(name: string, schema: z.ZodType): ParameterDecorator {
  return (target, key, index) => {
    Query(name, new WirePipe(schema, name))(target, key, index);
    describeMethod(
      target,
      key,
      ApiQuery({
        name,
        required: !schema.safeParse(undefined).success,
        schema: openApiSchema(schema),
      }),
    );
  };
}

/** One request header (lowercase name), e.g. `x-device-id`. */
export function WireHeader(name: string, schema: z.ZodType): ParameterDecorator {
  return (target, key, index) => {
    // Nest's @Headers takes no pipe: read the header here and validate it the same way.
    createParamDecorator((_: unknown, ctx: ExecutionContext) => {
      const value = ctx.switchToHttp().getRequest<Request>().headers[name];
      return new WirePipe(schema, name).transform(value);
    })()(target, key, index);
    describeMethod(
      target,
      key,
      ApiHeader({ name, required: !schema.safeParse(undefined).success }),
    );
  };
}

/** One path parameter, e.g. `:id`. */
export function WireParam(name: string, schema: z.ZodType): ParameterDecorator {
  return (target, key, index) => {
    Param(name, new WirePipe(schema, name))(target, key, index);
    describeMethod(target, key, ApiParam({ name, schema: openApiSchema(schema) }));
  };
}
