// `support-device replay <session>`: a session's output played back as it was
// shown (from sudo's I/O log), or exported as asciicast v2 with --cast.
import { StringDecoder } from "node:string_decoder";
import { printable } from "@support-tunnel/common";
import type { CommandContext } from "../context";
import { DeviceError, ExitCode, UsageError } from "../errors";
import { toAsciicast } from "../session-record/asciicast";
import { displayCommand } from "../session-record/command-text";
import { readIolog } from "../session-record/iolog";
import { sessionsOf, type SessionSummary } from "../session-record/journal";
import { playIolog } from "../session-record/player";
import { formatTime } from "../session-record/timeline";
import { readJournals } from "./log";

export interface ReplayOptions {
  /** A session id, or a unique start of one. */
  session: string;
  /** 2: twice as fast. */
  speed?: number;
  /** Longest pause in seconds. */
  maxWaitS?: number;
  /** Print asciicast v2 instead of playing. */
  cast?: boolean;
}

async function findSession(ctx: CommandContext, wanted: string): Promise<SessionSummary> {
  const matches = (await readJournals(ctx))
    .flatMap((t) => sessionsOf(t.events))
    .filter((s) => s.session.startsWith(wanted));
  if (matches.length === 0)
    throw new DeviceError(`no session ${wanted} recorded on this device`, ExitCode.NotFound);
  if (matches.length > 1)
    throw new UsageError(
      `${wanted} is the start of ${matches.length} sessions (${matches.map((s) => s.session).join(", ")}): give more of it`,
    );
  return matches[0]!;
}

function describe(s: SessionSummary): string {
  const what = s.kind === "shell" ? "a shell" : displayCommand(s.command ?? "");
  return printable(`${s.engineer ?? s.supportUser}, ${what}, ${formatTime(s.startedAt)}`);
}

export async function replay(ctx: CommandContext, options: ReplayOptions): Promise<void> {
  const found = await findSession(ctx, options.session);
  const dir = await ctx.deps.journal.iologDir(found.tunnelId, found.session, found.iolog);
  if (!dir)
    throw new DeviceError(
      `session ${found.session} has no I/O log on this device (removed, or never written)`,
      ExitCode.NotFound,
    );
  const iolog = await readIolog(dir);
  if (options.cast) {
    const title = `support session ${found.session}: ${describe(found)}`;
    ctx.output.write(
      toAsciicast(iolog, {
        title,
        ...(found.kind === "command" ? { command: displayCommand(found.command ?? "") } : {}),
      }),
    );
    return;
  }
  ctx.printer.info(
    `replaying session ${found.session} (${describe(found)})${iolog.complete ? "" : ", still running"}; Ctrl-C to stop`,
  );
  // Decoded as a stream: a character split between two chunks is written whole.
  const decoder = new StringDecoder("utf8");
  await playIolog(iolog, {
    speed: options.speed ?? 1,
    maxWaitS: options.maxWaitS,
    write: (chunk) => ctx.output.write(decoder.write(chunk)),
    sleep: (ms, signal) => ctx.deps.clock.sleep(ms, signal),
    signal: ctx.signal,
  });
  ctx.output.write(decoder.end());
}
