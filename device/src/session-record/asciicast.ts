// A session's I/O log as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/),
// so `asciinema play` and a web player can show it: a header line, then one
// `[seconds, "o", text]` line per chunk of output, `[seconds, "r", "COLSxROWS"]` per resize.
import { StringDecoder } from "node:string_decoder";
import { isOutput, type Iolog, type StreamName } from "./iolog";

export interface AsciicastOptions {
  title?: string;
  /** Shown by players as the recorded command. */
  command?: string;
}

/** Seconds with microsecond precision, as asciinema writes them. */
function seconds(t: number): number {
  return Math.round(t * 1e6) / 1e6;
}

/**
 * The asciicast text (newline-terminated JSON lines). Output without a terminal
 * (a one-shot command's pipes) has bare `\n` line ends that a terminal would have
 * turned into `\r\n`; the player is a terminal that does not, so they are turned here.
 */
export function toAsciicast(log: Iolog, options: AsciicastOptions = {}): string {
  const header: Record<string, unknown> = {
    version: 2,
    width: log.info.columns,
    height: log.info.lines,
    timestamp: Math.floor(log.info.startedMs / 1000),
  };
  if (options.command !== undefined) header.command = options.command;
  if (options.title !== undefined) header.title = options.title;
  const lines = [JSON.stringify(header)];
  // Multi-byte characters may be split between chunks: one decoder per stream keeps them whole.
  const decoders = new Map<StreamName, StringDecoder>();
  let t = 0;
  for (const event of log.events) {
    t += event.delayS;
    if (event.kind === "resize") {
      lines.push(JSON.stringify([seconds(t), "r", `${event.columns}x${event.lines}`]));
      continue;
    }
    if (!isOutput(event.stream)) continue;
    let decoder = decoders.get(event.stream);
    if (!decoder) decoders.set(event.stream, (decoder = new StringDecoder("utf8")));
    let text = decoder.write(event.data);
    if (event.stream !== "ttyout") text = text.replace(/(?<!\r)\n/g, "\r\n");
    if (text) lines.push(JSON.stringify([seconds(t), "o", text]));
  }
  return lines.join("\n") + "\n";
}
