// The device CLI's output: common's Printer, the same one `support` uses. Data goes
// to stdout (JSON with --json, text otherwise); chatter goes to stderr, so scripts
// can read stdout alone.
import type { OutputStream } from "@support-tunnel/common";
import { Printer } from "@support-tunnel/common/dist/printer";

export type { Printer };

export interface OutputStreams {
  stdout: OutputStream;
  stderr: OutputStream;
}

export function createPrinter(options: {
  json: boolean;
  streams?: OutputStreams;
  quiet?: boolean;
}): Printer {
  const streams = options.streams ?? { stdout: process.stdout, stderr: process.stderr };
  // No spinners: the device prints no slow steps, and the agent's output is a log.
  return new Printer({ ...streams, json: options.json, tty: false, quiet: options.quiet });
}
