// The journal for a person: a tunnel's timeline (`support-device log`) and the
// table of its sessions (`support-device sessions`). Pure. Every string that an
// engineer or the api could have chosen (commands, names, reasons) is made
// printable, so a record cannot drive the customer's terminal.
import { formatBytes, printable, renderTable } from "@support-tunnel/common";
import { displayCommand, forwardedPort } from "./command-text";
import { recognizeTransfer } from "./file-transfer";
import { sessionsOf, type JournalEvent, type SessionSummary } from "./journal";

export interface TimeOptions {
  /** IANA zone to show times in; default the device's own. */
  timeZone?: string;
}

function parts(iso: string, options: TimeOptions) {
  const fmt = new Intl.DateTimeFormat("en-GB", {
    timeZone: options.timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  const p = Object.fromEntries(fmt.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return p as Record<"year" | "month" | "day" | "hour" | "minute" | "second", string>;
}

/** `2030-01-01 10:03:00` in the device's zone (or the one given). */
export function formatTime(iso: string, options: TimeOptions = {}): string {
  const p = parts(iso, options);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** `10:03`. */
export function formatClock(iso: string, options: TimeOptions = {}): string {
  const p = parts(iso, options);
  return `${p.hour}:${p.minute}`;
}

/** `0.4 s`, `12 s`, `3 min 20 s`, `1 h 12 min`. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const totalS = Math.round(s);
  const m = Math.floor(totalS / 60);
  if (m < 60) return totalS % 60 ? `${m} min ${totalS % 60} s` : `${m} min`;
  return m % 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${Math.floor(m / 60)} h`;
}

const quoted = (t: string) => `"${printable(t)}"`;

/** Who did it: the engineer when the device knows them, else the support account. */
function who(s: SessionSummary): string {
  return printable(s.engineer ?? s.supportUser);
}

function outcome(s: SessionSummary): string {
  if (s.exitCode !== null) return `exit ${s.exitCode}`;
  if (s.signal !== null) return `ended by ${printable(s.signal)}`;
  return "exit unknown";
}

/** `alice forwarded port 80 10:03–10:15`: a `support forward` session. */
function forwardLine(s: SessionSummary, tunnelEnded: boolean, options: TimeOptions): string {
  const tag = `  [${s.session}]`;
  const port = forwardedPort(s.command);
  const start = formatClock(s.startedAt, options);
  if (s.endedAt !== null)
    return `${who(s)} forwarded port ${port} ${start}–${formatClock(s.endedAt, options)} (${formatDuration(s.durationMs ?? 0)})${tag}`;
  return tunnelEnded
    ? `${who(s)} forwarded port ${port} from ${start} (its end was not recorded)${tag}`
    : `${who(s)} is forwarding port ${port} since ${start}${tag}`;
}

/** `alice collected diagnostics (1.2 MB)`: a `support collect` session. */
function collectLine(s: SessionSummary, tunnelEnded: boolean, options: TimeOptions): string {
  const tag = `  [${s.session}]`;
  if (s.endedAt !== null) {
    const size = s.outputBytes !== null ? formatBytes(s.outputBytes) : "size unknown";
    const failed = s.exitCode === 0 ? "" : `, ${outcome(s)}`;
    return `${who(s)} collected diagnostics (${size}${failed})${tag}`;
  }
  return tunnelEnded
    ? `${who(s)} collected diagnostics at ${formatClock(s.startedAt, options)} (its end was not recorded)${tag}`
    : `${who(s)} is collecting diagnostics (since ${formatClock(s.startedAt, options)})${tag}`;
}

function sessionLine(s: SessionSummary, tunnelEnded: boolean, options: TimeOptions): string {
  if (s.kind === "forward") return forwardLine(s, tunnelEnded, options);
  if (s.kind === "collect") return collectLine(s, tunnelEnded, options);
  const tag = `  [${s.session}]`;
  if (s.kind === "shell") {
    const start = formatClock(s.startedAt, options);
    if (s.endedAt !== null)
      return `${who(s)} opened a shell ${start}–${formatClock(s.endedAt, options)} (${formatDuration(s.durationMs ?? 0)}, ${outcome(s)})${tag}`;
    return tunnelEnded
      ? `${who(s)} opened a shell at ${start} (its end was not recorded)${tag}`
      : `${who(s)} has a shell open since ${start}${tag}`;
  }
  if (s.kind === "files") {
    const tool = recognizeTransfer(s.command)?.tool ?? "files";
    if (s.endedAt !== null)
      return `${who(s)} transferred files with ${tool} (${outcome(s)}, ${formatDuration(s.durationMs ?? 0)})${tag}`;
    return tunnelEnded
      ? `${who(s)} transferred files with ${tool} (its end was not recorded)${tag}`
      : `${who(s)} is transferring files with ${tool} (since ${formatClock(s.startedAt, options)})${tag}`;
  }
  const command = printable(displayCommand(s.command ?? ""));
  if (s.endedAt !== null)
    return `${who(s)} ran: ${command} (${outcome(s)}, ${formatDuration(s.durationMs ?? 0)})${tag}`;
  return tunnelEnded
    ? `${who(s)} ran: ${command} (its end was not recorded)${tag}`
    : `${who(s)} is running: ${command} (since ${formatClock(s.startedAt, options)})${tag}`;
}

function eventLine(e: JournalEvent, options: TimeOptions): string | null {
  switch (e.type) {
    case "requested": {
      const choices = [
        e.ticket ? `ticket ${printable(e.ticket)}` : null,
        e.startsAt ? `not before ${formatTime(e.startsAt, options)}` : null,
        e.engineers?.length ? `only for ${e.engineers.map(printable).join(", ")}` : null,
        e.ports?.length
          ? `port${e.ports.length > 1 ? "s" : ""} ${e.ports.join(", ")} open to forwards`
          : null,
        `until ${formatTime(e.grantedUntil, options)}`,
      ].filter((c): c is string => c !== null);
      return `requested by the customer${e.description ? `: ${quoted(e.description)}` : ""} (${choices.join(", ")})`;
    }
    case "approved":
      return `approved${e.engineer ? ` by ${printable(e.engineer)}` : ""}${e.ticket ? ` for ticket ${printable(e.ticket)}` : ""}, until ${formatTime(e.expiresAt, options)} (tunnel server ${printable(e.endpoint)})`;
    case "refused":
      return `refused an approval: ${printable(e.reason)}`;
    case "withdrawn":
      return `approval withdrawn${e.engineer ? ` (by ${printable(e.engineer)})` : ""}: support took it back, what was set up for it is removed, and the tunnel waits for a new approval`;
    case "connected":
      return `connected: support may log in as ${e.supportUser}`;
    case "stopped": {
      const reason = e.reason ? `: ${quoted(e.reason)}` : "";
      switch (e.by) {
        case "customer":
          return `stopped by the customer${reason}`;
        case "engineer":
          return `stopped by support${reason}`;
        case "expiry":
          return "expired: the time granted ran out";
        case "api":
          return `ended by the api${reason}`;
      }
      return null;
    }
    default:
      return null;
  }
}

/** `alice copied fix.sh to /tmp/ (3.1 kB)`, `alice fetched /var/log/syslog (1.2 MB)`. */
function fileLine(
  e: Extract<JournalEvent, { type: "file-transfer" }>,
  s: SessionSummary | undefined,
): string {
  const by = s ? who(s) : "support";
  const size = formatBytes(e.bytes);
  const tag = `  [${e.session}]`;
  const where = printable(e.path);
  if (e.files !== undefined && e.files > 1)
    return e.direction === "upload"
      ? `${by} copied ${e.files} more files to ${where}/ (${size})${tag}`
      : `${by} fetched ${e.files} more files from ${where}/ (${size})${tag}`;
  if (e.tool === "rsync")
    return e.direction === "upload"
      ? `${by} copied files to ${where} with rsync (${size})${tag}`
      : `${by} fetched ${where} with rsync (${size})${tag}`;
  if (e.direction === "download") return `${by} fetched ${where} (${size})${tag}`;
  const slash = e.path.lastIndexOf("/");
  const name = printable(e.path.slice(slash + 1));
  const dir = printable(slash >= 0 ? e.path.slice(0, slash + 1) : "./");
  return `${by} copied ${name} to ${dir} (${size})${tag}`;
}

/** One line of a timeline: when, and what happened, for a person (printable). */
export interface TimelineEntry {
  at: string;
  text: string;
}

/** A tunnel's timeline as entries: one per event, each session at its start. */
export function timelineEntries(
  events: readonly JournalEvent[],
  options: TimeOptions = {},
): TimelineEntry[] {
  const sessions = new Map(sessionsOf(events).map((s) => [s.session, s]));
  const stoppedAt = events.find((e) => e.type === "stopped")?.at;
  const entries: TimelineEntry[] = [];
  for (const e of events) {
    let text: string | null;
    if (e.type === "session-opened") {
      const s = sessions.get(e.session)!;
      const ended = stoppedAt !== undefined && Date.parse(stoppedAt) >= Date.parse(s.startedAt);
      text = sessionLine(s, ended, options);
    } else if (e.type === "file-transfer") {
      text = fileLine(e, sessions.get(e.session));
    } else {
      text = eventLine(e, options);
    }
    if (text !== null) entries.push({ at: e.at, text });
  }
  return entries;
}

/** A tunnel's timeline: one line per event, each session on the line of its start. */
export function renderTimeline(
  tunnelId: string,
  events: readonly JournalEvent[],
  options: TimeOptions = {},
): string {
  const lines = timelineEntries(events, options).map(
    (e) => `  ${formatTime(e.at, options)}  ${e.text}`,
  );
  return [`tunnel ${tunnelId}`, ...lines].join("\n");
}

/** The sessions as a table: id, tunnel, who, start, end, exit, command. */
export function renderSessions(sessions: readonly SessionSummary[], options: TimeOptions = {}) {
  if (sessions.length === 0) return "no sessions recorded";
  return renderTable(
    ["SESSION", "TUNNEL", "WHO", "START", "END", "EXIT", "COMMAND"],
    sessions.map((s) => [
      s.session,
      s.tunnelId.slice(0, 8),
      s.engineer ?? s.supportUser,
      formatTime(s.startedAt, options),
      s.endedAt ? formatClock(s.endedAt, options) : "-",
      s.exitCode !== null ? String(s.exitCode) : (s.signal ?? "-"),
      s.kind === "shell"
        ? "(shell)"
        : s.kind === "forward"
          ? `(forward port ${forwardedPort(s.command)})`
          : s.kind === "collect"
            ? "(collect diagnostics)"
            : displayCommand(s.command ?? ""),
    ]),
  );
}
