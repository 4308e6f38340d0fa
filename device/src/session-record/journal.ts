// The journal of a tunnel: what happened to it on this device, one JSON event per
// line, appended by the lifecycle (requested, approved, withdrawn, connected, stopped) and by
// the session program (each session opened and closed). It names people and
// commands, never a key, token or PSK. Kept after the tunnel is gone, for the
// customer to read (`support-device log`, `sessions`, `replay`).
import type { JournalEvent } from "./journal-schema";
import { sessionKind, type SessionKind } from "./command-text";
import { recognizeTransfer } from "./file-transfer";

export type { JournalEvent };

export const JOURNAL_VERSION = 1;

/** Who ended a tunnel, in the customer's terms. `api`: the api ended it and did not say who. */
export const STOPPERS = ["customer", "engineer", "expiry", "api"] as const;
export type Stopper = (typeof STOPPERS)[number];

/** The zod schemas, loaded by the first reader of a journal. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const schema = () => require("./journal-schema") as typeof import("./journal-schema");

export type JournalEventOf<T extends JournalEvent["type"]> = Extract<JournalEvent, { type: T }>;

/** What the writer fills in: the version and the time. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type NewJournalEvent = DistributiveOmit<JournalEvent, "v" | "at">;

export function stampEvent(event: NewJournalEvent, now: number): JournalEvent {
  return { v: JOURNAL_VERSION, at: new Date(now).toISOString(), ...event } as JournalEvent;
}

export interface ParsedJournal {
  events: JournalEvent[];
  /** Lines that are not an event (a torn write after a crash, a hand edit): skipped. */
  unreadable: number;
}

/** Events of a journal file's text, in time order (appends from several writers may interleave). */
export function parseJournal(textOfFile: string): ParsedJournal {
  const events: JournalEvent[] = [];
  let unreadable = 0;
  for (const line of textOfFile.split("\n")) {
    if (!line.trim()) continue;
    try {
      const parsed = schema().journalEventSchema.safeParse(JSON.parse(line));
      if (parsed.success) events.push(parsed.data);
      else unreadable++;
    } catch {
      unreadable++;
    }
  }
  return { events: sortByTime(events), unreadable };
}

/**
 * The engineer the tunnel's last approval names (null: it names none, or there
 * is no approval), as the last `approved` of parseJournal's events says, but
 * without zod: the session program asks it before every session, and loading zod
 * would be most of that program's start. Only what it reads is checked (an
 * approval of this tunnel, its version and time, its engineer); a line that
 * fails is skipped, as parseJournal skips it.
 */
export function approvedEngineerOf(textOfFile: string, tunnelId: string): string | null {
  let last: { at: number; engineer: string | null } | null = null;
  for (const line of textOfFile.split("\n")) {
    if (!line.includes('"approved"')) continue;
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const at = typeof event.at === "string" ? Date.parse(event.at) : NaN;
    const engineer = event.engineer ?? null;
    if (
      event?.type !== "approved" ||
      event.v !== JOURNAL_VERSION ||
      event.tunnelId !== tunnelId ||
      !Number.isFinite(at) ||
      (engineer !== null && typeof engineer !== "string")
    )
      continue;
    // The latest, and of two at the same time the later line, as sortByTime orders them.
    if (last === null || at >= last.at) last = { at, engineer };
  }
  return last?.engineer ?? null;
}

export function sortByTime<T extends { at: string }>(events: T[]): T[] {
  return events
    .map((e, i) => ({ e, i, t: Date.parse(e.at) }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.e);
}

/** One session, from its opened and (once it ended) closed events. */
export interface SessionSummary {
  session: string;
  tunnelId: string;
  supportUser: string;
  engineer: string | null;
  kind: SessionKind;
  command: string | null;
  pty: boolean;
  from: string | null;
  startedAt: string;
  /** null while it runs, or when its end was never recorded (a crash, a reboot). */
  endedAt: string | null;
  exitCode: number | null;
  signal: string | null;
  durationMs: number | null;
  iolog: string | null;
  /** Bytes sent back, when counted (a collection's bundle); null otherwise. */
  outputBytes: number | null;
}

/** The sessions of a tunnel's events, in the order they were opened. */
export function sessionsOf(events: readonly JournalEvent[]): SessionSummary[] {
  const byId = new Map<string, SessionSummary>();
  for (const e of events) {
    if (e.type === "session-opened") {
      byId.set(e.session, {
        session: e.session,
        tunnelId: e.tunnelId,
        supportUser: e.supportUser,
        engineer: e.engineer ?? null,
        kind: recognizeTransfer(e.command) ? "files" : sessionKind(e.command),
        command: e.command,
        pty: e.pty,
        from: e.from,
        startedAt: e.at,
        endedAt: null,
        exitCode: null,
        signal: null,
        durationMs: null,
        iolog: null,
        outputBytes: null,
      });
    } else if (e.type === "session-closed") {
      const s = byId.get(e.session);
      if (!s) continue;
      s.endedAt = e.at;
      s.exitCode = e.exitCode;
      s.signal = e.signal;
      s.durationMs = e.durationMs;
      s.iolog = e.iolog;
      s.outputBytes = e.outputBytes ?? null;
    }
  }
  return [...byId.values()];
}
