// The session record on disk, under the log dir (root-only, 0700): each tunnel's
// journal (`journal/<id>.jsonl`, 0600, appended to, never rewritten) and sudo's I/O
// logs of its sessions (`sessions/<id>/00/00/01/...`, written by sudo itself).
// Both outlive the tunnel and its account; `prune` removes them after the retention.
import * as fs from "node:fs/promises";
import * as path from "node:path";
import {
  approvedEngineerOf,
  parseJournal,
  type JournalEvent,
  type ParsedJournal,
} from "../session-record/journal";
import {
  iologDirOf,
  journalDirOf,
  journalFileOf,
  sessionMarker,
  sessionsDirOf,
} from "../session-record/layout";
import type { Journal } from "./ports";

const TUNNEL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** One level of sudo's `%{seq}` path: two base-36 digits. */
const SEQ_PART = /^[0-9A-Z]{2}$/;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === "ENOENT";
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

async function mtimeMs(file: string): Promise<number | null> {
  try {
    return (await fs.stat(file)).mtimeMs;
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

export class FileJournal implements Journal {
  constructor(readonly logDir: string) {}

  /** The log dir and its two parts, root-only whatever the umask or an earlier mode said. */
  private async ensureDirs(): Promise<void> {
    for (const dir of [this.logDir, journalDirOf(this.logDir), sessionsDirOf(this.logDir)]) {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      await fs.chmod(dir, 0o700);
    }
  }

  async append(event: JournalEvent): Promise<void> {
    if (!TUNNEL_ID.test(event.tunnelId)) throw new Error(`not a tunnel id: ${event.tunnelId}`);
    await this.ensureDirs();
    // One write in append mode: lines from the agent and from several sessions never interleave.
    await fs.appendFile(journalFileOf(this.logDir, event.tunnelId), `${JSON.stringify(event)}\n`, {
      mode: 0o600,
      flag: "a",
    });
  }

  async approvedEngineer(tunnelId: string): Promise<string | null> {
    if (!TUNNEL_ID.test(tunnelId)) return null;
    try {
      return approvedEngineerOf(
        await fs.readFile(journalFileOf(this.logDir, tunnelId), "utf8"),
        tunnelId,
      );
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async read(tunnelId: string): Promise<ParsedJournal | null> {
    if (!TUNNEL_ID.test(tunnelId)) return null;
    try {
      return parseJournal(await fs.readFile(journalFileOf(this.logDir, tunnelId), "utf8"));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async tunnels(): Promise<string[]> {
    return (await listDir(journalDirOf(this.logDir)))
      .filter((f) => f.endsWith(".jsonl") && TUNNEL_ID.test(f.slice(0, -6)))
      .map((f) => f.slice(0, -6));
  }

  /**
   * The directory of a session's I/O log: where its closing event says, or, when
   * its end was not recorded, the one whose recorded command carries its marker.
   */
  async iologDir(
    tunnelId: string,
    session: string,
    recorded: string | null,
  ): Promise<string | null> {
    if (!TUNNEL_ID.test(tunnelId)) return null;
    const root = iologDirOf(this.logDir, tunnelId);
    if (recorded !== null) {
      const dir = path.join(root, recorded);
      if ((await mtimeMs(path.join(dir, "log.json"))) !== null) return dir;
    }
    const marker = sessionMarker(session);
    // Newest first: the session looked for is most often the last one.
    for (const a of (await listDir(root)).filter((p) => SEQ_PART.test(p)).reverse()) {
      for (const b of (await listDir(path.join(root, a)))
        .filter((p) => SEQ_PART.test(p))
        .reverse()) {
        const parent = path.join(root, a, b);
        for (const c of (await listDir(parent)).filter((p) => SEQ_PART.test(p)).reverse()) {
          const dir = path.join(parent, c);
          try {
            const info = JSON.parse(await fs.readFile(path.join(dir, "log.json"), "utf8")) as {
              runargv?: unknown;
            };
            if (Array.isArray(info.runargv) && info.runargv.includes(marker)) return dir;
          } catch {
            // not a finished log.json (being written, or not sudo's): not this one
          }
        }
      }
    }
    return null;
  }

  /** When a tunnel's journal was last written to: its last event's time, else the file's. */
  private async lastWritten(tunnelId: string): Promise<number | null> {
    const last = (await this.read(tunnelId))?.events.at(-1);
    return last ? Date.parse(last.at) : mtimeMs(journalFileOf(this.logDir, tunnelId));
  }

  /**
   * Removes the record of every tunnel not in `keep` whose journal was last written
   * before `cutoffMs` (and I/O logs whose journal is gone, by their own time).
   */
  async prune(cutoffMs: number, keep: ReadonlySet<string>): Promise<string[]> {
    const removed = new Set<string>();
    for (const id of await this.tunnels()) {
      if (keep.has(id)) continue;
      const at = await this.lastWritten(id);
      if (at !== null && at < cutoffMs) {
        await fs.rm(iologDirOf(this.logDir, id), { recursive: true, force: true });
        await fs.rm(journalFileOf(this.logDir, id), { force: true });
        removed.add(id);
      }
    }
    for (const id of await listDir(sessionsDirOf(this.logDir))) {
      if (!TUNNEL_ID.test(id) || keep.has(id) || removed.has(id)) continue;
      if ((await mtimeMs(journalFileOf(this.logDir, id))) !== null) continue;
      const at = await mtimeMs(iologDirOf(this.logDir, id));
      if (at !== null && at < cutoffMs) {
        await fs.rm(iologDirOf(this.logDir, id), { recursive: true, force: true });
        removed.add(id);
      }
    }
    return [...removed].sort();
  }
}
