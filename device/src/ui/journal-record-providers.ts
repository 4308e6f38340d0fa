// The consent page's view of the session record: each tunnel's timeline, its
// sessions and their recordings, who of support is in right now, and the tunnels
// that ended, all read from the journals that outlive the tunnels (root's, like
// the page). Text is made printable here as in `support-device log`.
import { printable } from "@support-tunnel/common";
import type { Journal } from "../adapters/ports";
import { toAsciicast } from "../session-record/asciicast";
import { displayCommand, sessionCommandText } from "../session-record/command-text";
import { readIolog } from "../session-record/iolog";
import { sessionIdSchema } from "../session-record/journal-schema";
import {
  sessionsOf,
  type JournalEvent,
  type JournalEventOf,
  type SessionSummary as RecordedSession,
  type Stopper,
} from "../session-record/journal";
import { timelineEntries } from "../session-record/timeline";
import type {
  ActiveSession,
  ConsentTunnel,
  EndedBy,
  SessionSummary,
  TimelineEntry,
} from "./consent-api";
import type { RecordedFacts, SessionRecordProviders } from "./device-consent-services";

/** Ended tunnels the page lists: the newest ones; `support-device log` has them all. */
const ENDED_LISTED = 50;

const ENDED_BY: Record<Stopper, EndedBy> = {
  customer: "customer",
  engineer: "support",
  expiry: "expiry",
  api: "unknown",
};

function last<T extends JournalEvent["type"]>(
  events: readonly JournalEvent[],
  type: T,
): JournalEventOf<T> | undefined {
  return events.filter((e): e is JournalEventOf<T> => e.type === type).pop();
}

function who(s: RecordedSession): string {
  return printable(s.engineer ?? s.supportUser);
}

/** The page knows shells and commands: a file transfer shows as its command. */
function pageKind(s: RecordedSession): "shell" | "command" {
  return s.kind === "shell" ? "shell" : "command";
}

function toSession(s: RecordedSession): SessionSummary {
  return {
    sessionId: s.session,
    engineer: who(s),
    // The page knows shells and commands: a transfer, a forward or a collection
    // shows as what it did.
    kind: pageKind(s),
    ...(pageKind(s) === "command" ? { command: printable(sessionCommandText(s)) } : {}),
    startedAt: s.startedAt,
    ...(s.endedAt !== null ? { endedAt: s.endedAt } : {}),
    ...(s.exitCode !== null ? { exitCode: s.exitCode } : {}),
    // Written by sudo as the session runs: one still open can be replayed so far.
    replayable: true,
  };
}

/** An ended tunnel from its journal; null while it has not ended (or was never requested here). */
function endedTunnel(tunnelId: string, events: readonly JournalEvent[]): ConsentTunnel | null {
  const requested = last(events, "requested");
  const stopped = last(events, "stopped");
  if (!requested || !stopped) return null;
  const approved = last(events, "approved");
  const connected = last(events, "connected");
  return {
    tunnelId,
    status: "ended",
    ...(requested.description ? { description: printable(requested.description) } : {}),
    requestedAt: requested.at,
    expiresAt: approved?.expiresAt ?? requested.grantedUntil,
    supportUser: requested.supportUser,
    ...(connected ? { connectedSince: connected.at } : {}),
    endedAt: stopped.at,
    endedBy: ENDED_BY[stopped.by],
    ...(stopped.reason ? { endReason: printable(stopped.reason) } : {}),
    ...(requested.ticket ? { ticket: printable(requested.ticket) } : {}),
    ...(requested.startsAt ? { startsAt: requested.startsAt } : {}),
    ...(requested.engineers?.length
      ? { allowedEngineers: requested.engineers.map((e) => printable(e)) }
      : {}),
    ...(requested.ports?.length ? { allowedPorts: requested.ports } : {}),
    ...(approved?.engineer ? { approvedBy: printable(approved.engineer) } : {}),
  };
}

export function journalRecordProviders(journal: Journal): SessionRecordProviders {
  const eventsOf = async (tunnelId: string) => (await journal.read(tunnelId))?.events ?? null;

  /** The session with this id, on any tunnel recorded here. */
  async function findSession(sessionId: string): Promise<RecordedSession | null> {
    if (!sessionIdSchema.safeParse(sessionId).success) return null;
    for (const tunnelId of await journal.tunnels()) {
      const events = await eventsOf(tunnelId);
      const found = events && sessionsOf(events).find((s) => s.session === sessionId);
      if (found) return found;
    }
    return null;
  }

  return {
    async timeline(tunnelId): Promise<TimelineEntry[] | null> {
      const events = await eventsOf(tunnelId);
      return events && timelineEntries(events);
    },

    async sessions(tunnelId): Promise<SessionSummary[] | null> {
      const events = await eventsOf(tunnelId);
      return events && sessionsOf(events).map(toSession);
    },

    async cast(sessionId): Promise<string | null> {
      const found = await findSession(sessionId);
      if (!found) return null;
      const dir = await journal.iologDir(found.tunnelId, found.session, found.iolog);
      if (!dir) return null;
      const what = found.kind === "shell" ? "a shell" : displayCommand(found.command ?? "");
      return toAsciicast(await readIolog(dir), {
        title: printable(`support session ${found.session}: ${who(found)}, ${what}`),
        ...(found.kind === "command" ? { command: displayCommand(found.command ?? "") } : {}),
      });
    },

    async activeSessions(tunnelId): Promise<ActiveSession[]> {
      const events = (await eventsOf(tunnelId)) ?? [];
      return sessionsOf(events)
        .filter((s) => s.endedAt === null)
        .map((s) => ({
          engineer: who(s),
          since: s.startedAt,
          kind: pageKind(s),
          sessionId: s.session,
        }));
    },

    async facts(tunnelId): Promise<RecordedFacts> {
      const events = (await eventsOf(tunnelId)) ?? [];
      const requested = last(events, "requested");
      const connected = last(events, "connected");
      return {
        ...(requested?.description ? { description: printable(requested.description) } : {}),
        ...(connected ? { connectedSince: connected.at } : {}),
      };
    },

    async ended(): Promise<ConsentTunnel[]> {
      const ended: ConsentTunnel[] = [];
      for (const tunnelId of await journal.tunnels()) {
        const events = await eventsOf(tunnelId);
        const tunnel = events && endedTunnel(tunnelId, events);
        if (tunnel) ended.push(tunnel);
      }
      return ended
        .sort((a, b) => (b.endedAt ?? "").localeCompare(a.endedAt ?? ""))
        .slice(0, ENDED_LISTED);
    },
  };
}
