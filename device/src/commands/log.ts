// `support-device log [<id>]`: what happened to a tunnel on this device, for a person.
import type { CommandContext } from "../context";
import { DeviceError, ExitCode } from "../errors";
import type { JournalEvent } from "../session-record/journal";
import { renderTimeline } from "../session-record/timeline";

export interface LogOptions {
  /** One tunnel; every tunnel this device has a record of when absent. */
  id?: string;
}

export interface TunnelJournal {
  tunnelId: string;
  events: JournalEvent[];
}

/** The journals asked for, oldest tunnel first; an unknown id is NotFound. */
export async function readJournals(ctx: CommandContext, id?: string): Promise<TunnelJournal[]> {
  try {
    return await readJournalsAsIs(ctx, id);
  } catch (err) {
    // The record is root's alone (it holds what support typed): say so rather than EACCES.
    if ((err as NodeJS.ErrnoException).code === "EACCES")
      throw new DeviceError(
        `the session record in ${ctx.settings.logDir} is readable by root only: run this as root`,
      );
    throw err;
  }
}

async function readJournalsAsIs(ctx: CommandContext, id?: string): Promise<TunnelJournal[]> {
  const { journal } = ctx.deps;
  const ids = id !== undefined ? [id] : await journal.tunnels();
  const found: TunnelJournal[] = [];
  for (const tunnelId of ids) {
    const parsed = await journal.read(tunnelId);
    if (!parsed) {
      if (id !== undefined)
        throw new DeviceError(`no record of tunnel ${id} on this device`, ExitCode.NotFound);
      continue;
    }
    if (parsed.unreadable > 0)
      ctx.printer.warn(
        `tunnel ${tunnelId}: ${parsed.unreadable} unreadable line(s) in its journal skipped`,
      );
    found.push({ tunnelId, events: parsed.events });
  }
  const firstAt = (t: TunnelJournal) => Date.parse(t.events[0]?.at ?? "") || 0;
  return found.sort((a, b) => firstAt(a) - firstAt(b));
}

/** A tunnel's timeline (requested, approved, connected, each session, stopped), or every tunnel's. */
export async function log(ctx: CommandContext, options: LogOptions): Promise<void> {
  const journals = await readJournals(ctx, options.id);
  const value = options.id !== undefined ? journals[0] : { tunnels: journals };
  ctx.printer.data(value, () =>
    journals.length === 0
      ? "no tunnel recorded on this device"
      : journals.map((t) => renderTimeline(t.tunnelId, t.events)).join("\n\n"),
  );
}
