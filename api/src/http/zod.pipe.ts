// Validation at the edge: every body, parameter, query value and header goes
// through one of the wire schemas from common before a service sees it.
// A ValidationError becomes a 400 naming the field (see error.filter.ts).
import { type PipeTransform } from "@nestjs/common";
import { parseWire, ValidationError } from "@support-tunnel/common";

type WireSchema = Parameters<typeof parseWire>[0];

export class WirePipe<S extends WireSchema> implements PipeTransform<unknown, unknown> {
  /** `what` names the value when the error is about it as a whole (e.g. `body`, `id`). */
  constructor(
    private readonly schema: S,
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
