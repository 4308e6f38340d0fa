// The journal of a tunnel: what happened to it on this device, one JSON event per
// line, appended by the lifecycle (requested, approved, withdrawn, connected, stopped) and by
// the session program (each session opened and closed). It names people and
// commands, never a key, token or PSK. Kept after the tunnel is gone, for the
// customer to read (`support-device log`, `sessions`, `replay`).
import { z } from "zod";
import { supportUserSchema, tunnelIdSchema } from "@support-tunnel/common";
import { sessionKind, type SessionKind } from "./command-text";
import { recognizeTransfer } from "./file-transfer";

export const JOURNAL_VERSION = 1;

/** A session's id: 12 hex digits, made by the session program. */
export const sessionIdSchema = z.string().regex(/^[0-9a-f]{12}$/, "must be 12 hex digits");

/** Who ended a tunnel, in the customer's terms. `api`: the api ended it and did not say who. */
export const STOPPERS = ["customer", "engineer", "expiry", "api"] as const;
export type Stopper = (typeof STOPPERS)[number];

const isoTime = z.string().datetime({ offset: true, message: "must be an ISO 8601 time" });
/** Text that may come from anyone (an engineer, the api): kept as is, made printable when shown. */
const text = z.string();

const base = { v: z.literal(JOURNAL_VERSION), at: isoTime, tunnelId: tunnelIdSchema };

// Unknown fields pass through: a journal written by a later release still reads
// here, and `--json` shows what it holds.
export const journalEventSchema = z.discriminatedUnion("type", [
  z
    .object({
      ...base,
      type: z.literal("requested"),
      supportUser: supportUserSchema,
      description: text.nullable(),
      hostname: text.nullable(),
      /** What the customer granted, by this device's clock. */
      grantedUntil: isoTime,
      /** The customer's choices, when given (support case, earliest start, allowed engineers). */
      ticket: text.nullish(),
      startsAt: isoTime.nullish(),
      engineers: z.array(text).nullish(),
      /** Device ports open to forwards (`--allow-port`); absent or empty: none but SSH. */
      ports: z.array(z.number().int()).nullish(),
    })
    .passthrough(),
  z
    .object({
      ...base,
      type: z.literal("approved"),
      expiresAt: isoTime,
      /** The tunnel server, from the verified approval: `address:port`. */
      endpoint: text,
      /** The approving engineer and the ticket, when the approval names them. */
      engineer: text.nullish(),
      ticket: text.nullish(),
    })
    .passthrough(),
  z.object({ ...base, type: z.literal("refused"), reason: text }).passthrough(),
  z
    .object({
      ...base,
      /**
       * An approval this device acted on was taken back (the engineer's `create`
       * failed or timed out): what was set up for it is gone, and the tunnel waits
       * for a new approval. `engineer` is who the withdrawn approval named (from
       * the verified approval, not from the api).
       */
      type: z.literal("withdrawn"),
      engineer: text.nullish(),
    })
    .passthrough(),
  z
    .object({
      ...base,
      type: z.literal("connected"),
      supportUser: supportUserSchema,
      interface: text,
      address: text,
    })
    .passthrough(),
  z
    .object({
      ...base,
      type: z.literal("session-opened"),
      session: sessionIdSchema,
      supportUser: supportUserSchema,
      /** The engineer behind the session, when the device knows it. */
      engineer: text.nullish(),
      /** What the session asked for (SSH_ORIGINAL_COMMAND); null: a plain login shell. */
      command: z.string().nullable(),
      pty: z.boolean(),
      /** The SSH client's address (the tunnel server's). */
      from: text.nullable(),
    })
    .passthrough(),
  z
    .object({
      ...base,
      type: z.literal("session-closed"),
      session: sessionIdSchema,
      exitCode: z.number().int().nullable(),
      signal: text.nullable(),
      durationMs: z.number().nonnegative(),
      /** The session's sudo I/O log, relative to the tunnel's iolog_dir (`00/00/01`). */
      iolog: z
        .string()
        .regex(/^[0-9A-Z]{2}\/[0-9A-Z]{2}\/[0-9A-Z]{2}$/)
        .nullable(),
      /** Bytes the session sent back, where the session program counted them (a collection). */
      outputBytes: z.number().int().nonnegative().nullish(),
    })
    .passthrough(),
  z
    .object({
      ...base,
      type: z.literal("file-transfer"),
      session: sessionIdSchema,
      tool: z.enum(["sftp", "scp", "rsync"]),
      direction: z.enum(["upload", "download"]),
      /** The path on the device (rsync: the first path it was given). */
      path: text,
      bytes: z.number().int().nonnegative(),
      /** More than one: a summary of the session's files past the ones listed one by one. */
      files: z.number().int().positive().optional(),
    })
    .passthrough(),
  z
    .object({
      ...base,
      type: z.literal("stopped"),
      by: z.enum(STOPPERS),
      reason: text.nullable(),
    })
    .passthrough(),
]);

export type JournalEvent = z.infer<typeof journalEventSchema>;
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
      const parsed = journalEventSchema.safeParse(JSON.parse(line));
      if (parsed.success) events.push(parsed.data);
      else unreadable++;
    } catch {
      unreadable++;
    }
  }
  return { events: sortByTime(events), unreadable };
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
