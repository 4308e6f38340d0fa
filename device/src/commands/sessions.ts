// `support-device sessions [<id>]`: every session support had on this device, as a table.
import type { CommandContext } from "../context";
import { displayCommand } from "../session-record/command-text";
import { sessionsOf } from "../session-record/journal";
import { renderSessions } from "../session-record/timeline";
import { readJournals } from "./log";

export interface SessionsOptions {
  id?: string;
}

/** The sessions of one tunnel or of all, oldest first, with their command and exit. */
export async function sessions(ctx: CommandContext, options: SessionsOptions): Promise<void> {
  const all = (await readJournals(ctx, options.id))
    .flatMap((t) => sessionsOf(t.events))
    .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  const rows = all.map((s) => ({
    ...s,
    displayCommand: s.kind === "shell" ? null : displayCommand(s.command ?? ""),
  }));
  ctx.printer.data({ sessions: rows }, () => renderSessions(all));
}
