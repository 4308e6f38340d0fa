// The api's log as the tests read it: each JSON line, parsed, in an array.
import { Writable } from "node:stream";
import type pino from "pino";
import { createLogger } from "../http/logging";

/** A logger at info whose lines land, parsed, in `lines`. */
export function loggingInto(lines: Record<string, unknown>[]): pino.Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return createLogger("info", sink);
}
