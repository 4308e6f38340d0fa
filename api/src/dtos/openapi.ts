// Describes the wire schemas from common in the OpenAPI document.
import type { ApiBody } from "@nestjs/swagger";
import { zodToJsonSchema } from "zod-to-json-schema";

type SchemaObject = NonNullable<
  Extract<Parameters<typeof ApiBody>[0], { schema?: unknown }>["schema"]
>;

/** `schema` is one of common's zod schemas (typed loosely: common pins its own zod). */
export function openApiSchema(schema: object): SchemaObject {
  const json = zodToJsonSchema(schema as Parameters<typeof zodToJsonSchema>[0], {
    target: "openApi3",
    $refStrategy: "none",
  }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}
