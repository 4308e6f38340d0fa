// The one place output is written. Data goes to stdout (JSON with --json, text
// otherwise); chatter goes to stderr, so scripts can read stdout alone.

export interface OutputStreams {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
}

export interface Printer {
  readonly json: boolean;
  /** Machine-readable result: `value` as JSON with --json, else `text()`. */
  result(value: unknown, text: () => string): void;
  /** Progress and notes for a human, on stderr. */
  info(message: string): void;
}

export function createPrinter(options: {
  json: boolean;
  streams?: OutputStreams;
  quiet?: boolean;
}): Printer {
  const streams = options.streams ?? { stdout: process.stdout, stderr: process.stderr };
  return {
    json: options.json,
    result(value, text) {
      streams.stdout.write(options.json ? `${JSON.stringify(value)}\n` : `${text()}\n`);
    },
    info(message) {
      if (!options.quiet) streams.stderr.write(`${message}\n`);
    },
  };
}
