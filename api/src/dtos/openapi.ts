// Describes the wire schemas from common in the OpenAPI document: the schema
// that validates a value is the one the document shows, converted by zod itself.
import type { ApiBody } from "@nestjs/swagger";
import { z } from "zod";

/** @nestjs/swagger's SchemaObject (the package does not export the type by name). */
type SchemaObject = Exclude<
  NonNullable<Extract<Parameters<typeof ApiBody>[0], { schema?: unknown }>["schema"]>,
  { $ref: string }
>;

/**
 * `schema` as OpenAPI 3.0 sees it on the wire: the input side (what a sender
 * writes), with brand-casting transforms and refinements left out.
 */
export function openApiSchema(schema: z.ZodType): SchemaObject {
  const json = z.toJSONSchema(schema, {
    target: "openapi-3.0",
    io: "input",
    unrepresentable: "any",
  }) as SchemaObject & { $schema?: string };
  delete json.$schema;
  return json;
}
