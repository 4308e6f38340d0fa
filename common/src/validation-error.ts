// The error of a value that breaks the wire contract, whether a zod schema
// (schemas.ts) or a hand check (wire-check.ts) found it.

export class ValidationError extends Error {
  override name = "ValidationError";
  constructor(
    message: string,
    /** Dotted path of the first bad field, e.g. `server.wgPort`. */
    readonly field: string,
    readonly issues: readonly { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}
