// A reader of sudo's I/O logs (sudoers(5), "I/O LOG FILES"): the directory sudo
// writes for one session, with `log.json` (who, what, terminal size), `timing`
// (one line per chunk: stream, delay since the previous one in seconds, byte count;
// or a window change), and one file per stream, each gzip'ed unless
// `!compress_io`. A session still running (its `timing` still writable) reads up to
// what sudo has flushed.
import * as fs from "node:fs/promises";
import * as path from "node:path";
import * as zlib from "node:zlib";

/** sudo's timing-file event types, which are also its stream numbers. */
export const STREAMS = ["stdin", "stdout", "stderr", "ttyin", "ttyout"] as const;
export type StreamName = (typeof STREAMS)[number];
const WINDOW_CHANGE = 5;
const SUSPEND = 6;

export type IologEvent =
  | { kind: "data"; delayS: number; stream: StreamName; data: Buffer }
  | { kind: "resize"; delayS: number; lines: number; columns: number };

export interface IologInfo {
  /** When sudo started the command (ms since the epoch). */
  startedMs: number;
  columns: number;
  lines: number;
  runargv: string[];
  runuser: string | null;
  cwd: string | null;
}

export interface Iolog {
  dir: string;
  info: IologInfo;
  events: IologEvent[];
  /** False while the session runs: sudo makes `timing` read-only when it ends. */
  complete: boolean;
}

function decode(raw: Buffer): Buffer {
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    // A running session's file ends mid-stream: take what is there.
    return zlib.gunzipSync(raw, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  }
  return raw;
}

async function readStream(dir: string, name: string): Promise<Buffer> {
  try {
    return decode(await fs.readFile(path.join(dir, name)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return Buffer.alloc(0);
    throw err;
  }
}

function num(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

/** The session's facts from `log.json` (sudo ≥ 1.9.4). */
export function parseLogJson(text: string): IologInfo {
  const j = JSON.parse(text) as Record<string, unknown>;
  const ts = (j.timestamp ?? {}) as { seconds?: unknown; nanoseconds?: unknown };
  const argv: string[] = Array.isArray(j.runargv)
    ? j.runargv.filter((a): a is string => typeof a === "string")
    : [];
  return {
    startedMs: num(ts.seconds, 0) * 1000 + Math.floor(num(ts.nanoseconds, 0) / 1e6),
    columns: num(j.columns, 80),
    lines: num(j.lines, 24),
    runargv: argv,
    runuser: typeof j.runuser === "string" ? j.runuser : null,
    cwd: typeof j.submitcwd === "string" ? j.submitcwd : null,
  };
}

/**
 * The events of a timing file, with each chunk's bytes cut from its stream. A
 * line it cannot read, or a chunk beyond what a running session has flushed, ends
 * the list there: everything before it is what happened.
 */
export function parseTiming(
  timing: string,
  streams: Partial<Record<StreamName, Buffer>>,
): IologEvent[] {
  const offsets: Record<string, number> = {};
  const events: IologEvent[] = [];
  for (const line of timing.split("\n")) {
    if (!line.trim()) continue;
    const f = line.trim().split(/\s+/);
    const type = Number(f[0]);
    const delayS = Number(f[1]);
    if (!Number.isInteger(type) || !Number.isFinite(delayS) || delayS < 0) break;
    if (type === WINDOW_CHANGE) {
      events.push({ kind: "resize", delayS, lines: Number(f[2]), columns: Number(f[3]) });
      continue;
    }
    if (type === SUSPEND) continue;
    const stream = STREAMS[type];
    const bytes = Number(f[2]);
    if (!stream || !Number.isInteger(bytes) || bytes < 0) break;
    const from = offsets[stream] ?? 0;
    const buffer = streams[stream] ?? Buffer.alloc(0);
    if (from + bytes > buffer.length) break;
    offsets[stream] = from + bytes;
    events.push({ kind: "data", delayS, stream, data: buffer.subarray(from, from + bytes) });
  }
  return events;
}

/** Reads one session's I/O log directory. */
export async function readIolog(dir: string): Promise<Iolog> {
  const info = parseLogJson(await fs.readFile(path.join(dir, "log.json"), "utf8"));
  const timingPath = path.join(dir, "timing");
  const timing = (await readStream(dir, "timing")).toString("utf8");
  const streams: Partial<Record<StreamName, Buffer>> = {};
  for (const name of STREAMS) streams[name] = await readStream(dir, name);
  let complete = false;
  try {
    complete = ((await fs.stat(timingPath)).mode & 0o200) === 0;
  } catch {
    complete = false;
  }
  return { dir, info, events: parseTiming(timing, streams), complete };
}

/** Output streams: what the session showed (input is recorded too, but a terminal shows its echo). */
export function isOutput(stream: StreamName): boolean {
  return stream === "stdout" || stream === "stderr" || stream === "ttyout";
}
