// Where the session record lives under the log dir (default /var/log/support-tunnel,
// root-only): one journal of events per tunnel, and sudo's I/O logs of its sessions.
import * as path from "node:path";

export const DEFAULT_LOG_DIR = "/var/log/support-tunnel";

/** `<logDir>/journal`: one `<tunnelId>.jsonl` per tunnel, append-only JSON lines. */
export function journalDirOf(logDir: string): string {
  return path.join(logDir, "journal");
}

export function journalFileOf(logDir: string, tunnelId: string): string {
  return path.join(journalDirOf(logDir), `${tunnelId}.jsonl`);
}

/** `<logDir>/sessions`: sudo's iolog_dir of each tunnel below it. */
export function sessionsDirOf(logDir: string): string {
  return path.join(logDir, "sessions");
}

/** sudo's `iolog_dir` for a tunnel: its sessions are `%{seq}` directories below (00/00/01). */
export function iologDirOf(logDir: string, tunnelId: string): string {
  return path.join(sessionsDirOf(logDir), tunnelId);
}

/** The marker the session program puts in the command line sudo records, to find its I/O log. */
export function sessionMarker(session: string): string {
  return `SUPPORT_SESSION=${session}`;
}
