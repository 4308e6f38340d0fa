// Tunnel records on disk: <dir>/tunnels/<id>.json (0600), WireGuard configs in
// <dir>/wg, per-tunnel locks in <dir>/locks. Writes are atomic (a synced temp file
// renamed in place), so a crash leaves the old record or the new one, never half.
// Locks (dir-lock.ts) keep the agent and a manual command from working on one tunnel
// at once; one left by a process that provably died is taken over at once.
import { watch as watchDir } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runCheck, tunnelId as tunnelIdCheck } from "@support-tunnel/common/dist/wire-check";
import { DeviceError } from "../errors";
import { writeFileAtomic } from "./atomic-file";
import { takeDirLock } from "./dir-lock";
import { checkRecord, checkStoredRecord, type TunnelRecord } from "../record";
import type { StateStore } from "./ports";
import { isProvablyGone, ownIdentity, type ProcessIdentity } from "./process-identity";

/* eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when needed: node:crypto costs an idle agent ~2 MiB */
const crypto = () => require("node:crypto") as typeof import("node:crypto");

const INTERFACE = /^std[0-9a-f]{12}$/;
/** The device's identity: a lowercase UUID (common's deviceIdSchema). */
const DEVICE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A record's file name; the atomic writes' temp files (`<id>.json.<pid>.<hex>`) do not match. */
const RECORD_FILE = /^([0-9a-f-]{36})\.json$/;

export interface FileStateStoreOptions {
  /** How long `lock` waits for another live process before giving up. Default 120 s. */
  lockTimeoutMs?: number;
  lockPollMs?: number;
  /**
   * A live holder refreshes its lock every half of this; one not refreshed for
   * this long was left by a process that died, and is taken over even when its
   * holder cannot be proven gone (another boot, no /proc). Default 10 s
   * (proper-lockfile's, whose protocol the lock keeps), at least 2 s.
   */
  lockStaleMs?: number;
}

export class FileStateStore implements StateStore {
  private readonly lockTimeoutMs: number;
  private readonly lockPollMs: number;
  private readonly lockStaleMs: number;

  constructor(
    readonly dir: string,
    options: FileStateStoreOptions = {},
  ) {
    this.lockTimeoutMs = options.lockTimeoutMs ?? 120_000;
    this.lockPollMs = options.lockPollMs ?? 100;
    this.lockStaleMs = options.lockStaleMs ?? 10_000;
  }

  private sub(name: string): string {
    return path.join(this.dir, name);
  }

  private recordPath(id: string): string {
    // The id becomes a file name: only a real UUID may.
    const tunnelId = runCheck(tunnelIdCheck, id, "tunnel id");
    return path.join(this.sub("tunnels"), `${tunnelId}.json`);
  }

  private async ensureDir(dir: string): Promise<void> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await fs.chmod(dir, 0o700);
  }

  private async ensureDirs(): Promise<void> {
    await this.ensureDir(this.dir);
    for (const name of ["tunnels", "wg", "locks"]) await this.ensureDir(this.sub(name));
  }

  private async writeAtomic(file: string, text: string): Promise<void> {
    await writeFileAtomic(file, text, { mode: 0o600, fsync: true });
    // The write syncs the file, not the directory: sync it so the rename survives a power cut.
    const dirHandle = await fs.open(path.dirname(file), "r");
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }

  async deviceId(): Promise<string> {
    const file = this.sub("device-id");
    const existing = await this.readDeviceId(file);
    if (existing) return existing;
    await this.ensureDir(this.dir);
    // Made aside, then linked into place: link fails if the file exists, so two
    // processes starting at once end up with the one identity that won.
    const made = `${file}.${process.pid}.${crypto().randomBytes(4).toString("hex")}`;
    await this.writeAtomic(made, `${crypto().randomUUID()}\n`);
    try {
      await fs.link(made, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    } finally {
      await fs.rm(made, { force: true });
    }
    const id = await this.readDeviceId(file);
    if (!id) throw new DeviceError(`${file} does not hold a device identity (a UUID): remove it`);
    return id;
  }

  private async readDeviceId(file: string): Promise<string | null> {
    let text: string;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    const id = text.trim();
    if (!DEVICE_ID.test(id)) {
      throw new DeviceError(`${file} does not hold a device identity (a UUID): remove it`);
    }
    return id;
  }

  async list(): Promise<TunnelRecord[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.sub("tunnels"));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const records: TunnelRecord[] = [];
    for (const name of names.sort()) {
      const m = RECORD_FILE.exec(name);
      if (!m) continue;
      // A damaged record (edited by hand) must not stop the agent from watching the others.
      const record = await this.read(m[1]!).catch(() => null);
      if (record) records.push(record);
    }
    return records;
  }

  async read(id: string): Promise<TunnelRecord | null> {
    const file = this.recordPath(id);
    let text: string;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    try {
      return checkStoredRecord(JSON.parse(text));
    } catch (err) {
      throw new DeviceError(`state file ${file} is damaged: ${(err as Error).message}`);
    }
  }

  async write(record: TunnelRecord): Promise<void> {
    await this.ensureDirs();
    const valid = checkRecord(record);
    await this.writeAtomic(this.recordPath(valid.tunnelId), `${JSON.stringify(valid, null, 2)}\n`);
  }

  async remove(id: string): Promise<void> {
    await fs.rm(this.recordPath(id), { force: true });
  }

  /**
   * The lock is the directory locks/<id>, kept fresh by its holder; locks/<id>.pid
   * names the holder (pid, start time, boot, pid namespace) and the lock directory
   * it wrote that for. A lock whose holder is provably gone (no such process, or
   * the pid now names a process started at another time) is taken over at once,
   * so an agent restarted after a SIGKILL goes on without delay. Otherwise a lock
   * is taken over only once it has not been refreshed for the stale time: a pid
   * alone never decides, since the system may have given it to another process.
   */
  async lock(id: string): Promise<() => Promise<void>> {
    await this.ensureDirs();
    const tunnelId = runCheck(tunnelIdCheck, id, "tunnel id");
    const lockDir = path.join(this.sub("locks"), tunnelId);
    const holderFile = `${lockDir}.pid`;
    const self = await ownIdentity();
    const deadline = Date.now() + this.lockTimeoutMs;
    let lost: Error | undefined;
    let release: () => Promise<void>;
    for (;;) {
      try {
        release = await takeDirLock(lockDir, {
          staleMs: this.lockStaleMs,
          // The work in hand finishes and its release reports the loss.
          onCompromised: (err) => {
            lost = err;
          },
        });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw err;
        if (self && (await takeOverFromGoneHolder(lockDir, holderFile, self))) continue;
        if (Date.now() >= deadline) {
          const holder = await readHolder(holderFile);
          throw new DeviceError(
            `tunnel ${id} is busy (locked by pid ${holder.pid ?? "?"}); try again`,
          );
        }
        await sleep(this.lockPollMs);
      }
    }
    const instance = await lockInstance(lockDir);
    // Without /proc or a birth time (some file systems) there is no proof to give: pid only.
    const holder: LockHolder | null =
      self && instance && !instance.endsWith(":0") ? { ...self, lock: instance } : null;
    // Atomic, so a taker never reads half a holder.
    await writeFileAtomic(holderFile, `${JSON.stringify(holder ?? { pid: process.pid })}\n`, {
      mode: 0o600,
      fsync: false,
    });
    return async () => {
      if (lost) {
        throw new DeviceError(
          `lost the lock of tunnel ${id} while working on it (${lost.message}); check it with \`support-device status ${id}\``,
        );
      }
      await fs.rm(holderFile, { force: true });
      await release();
    };
  }

  /**
   * inotify on the tunnels directory (through fs.watch): costs nothing while
   * nothing changes. Every write is a rename into place and every removal an
   * unlink, so each one names its record.
   */
  async watch(
    onChange: (tunnelId: string | null) => void,
    onError: (err: Error) => void,
  ): Promise<() => void> {
    await this.ensureDirs();
    const watcher = watchDir(this.sub("tunnels"), (_event, name) => {
      if (name === null) return onChange(null);
      const m = RECORD_FILE.exec(name.toString());
      if (m) onChange(m[1]!);
    });
    watcher.on("error", onError);
    return () => watcher.close();
  }

  wgConfigPath(iface: string): string {
    if (!INTERFACE.test(iface)) throw new DeviceError(`not a device interface name: ${iface}`);
    return path.join(this.sub("wg"), `${iface}.conf`);
  }

  async writeWgConfig(iface: string, text: string): Promise<string> {
    await this.ensureDirs();
    const file = this.wgConfigPath(iface);
    await this.writeAtomic(file, text);
    return file;
  }

  async removeWgConfig(iface: string): Promise<void> {
    await fs.rm(this.wgConfigPath(iface), { force: true });
  }

  async hasWgConfig(iface: string): Promise<boolean> {
    try {
      await fs.access(this.wgConfigPath(iface));
      return true;
    } catch {
      return false;
    }
  }

  async listWgConfigs(): Promise<string[]> {
    try {
      return (await fs.readdir(this.sub("wg")))
        .map((name) => name.replace(/\.conf$/, ""))
        .filter((name) => INTERFACE.test(name));
    } catch {
      return [];
    }
  }
}

/** What locks/<id>.pid says: the holder, and the lock directory it holds. */
type LockHolder = ProcessIdentity & { lock: string };

const LOCK_HOLDER_FIELDS = ["pid", "startTime", "bootId", "pidNamespace", "lock"];

/** The full holder, or null for anything else (an older release's bare pid, a damaged file). */
function asLockHolder(json: unknown): LockHolder | null {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return null;
  const h = json as Record<string, unknown>;
  if (Object.keys(h).some((key) => !LOCK_HOLDER_FIELDS.includes(key))) return null;
  const named = (v: unknown) => typeof v === "string" && v.length > 0;
  const ok =
    typeof h.pid === "number" &&
    Number.isSafeInteger(h.pid) &&
    h.pid > 0 &&
    typeof h.startTime === "string" &&
    /^\d+$/.test(h.startTime) &&
    named(h.bootId) &&
    named(h.pidNamespace) &&
    named(h.lock);
  return ok ? (h as unknown as LockHolder) : null;
}

/** The holder file's text, its pid (for messages), and the full holder when it has one. */
async function readHolder(
  file: string,
): Promise<{ text: string | null; pid: number | null; holder: LockHolder | null }> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch {
    return { text: null, pid: null, holder: null };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { text, pid: null, holder: null };
  }
  const full = asLockHolder(json);
  if (full) return { text, pid: full.pid, holder: full };
  // An older release wrote the bare pid; other writers only the pid.
  const pid = typeof json === "number" ? json : (json as { pid?: unknown } | null)?.pid;
  return {
    text,
    pid: typeof pid === "number" && Number.isInteger(pid) && pid > 0 ? pid : null,
    holder: null,
  };
}

/**
 * One lock directory, told apart from any other that was ever at that path: a new
 * `mkdir` may reuse a freed inode number, never with the same birth time.
 * Null when there is none.
 */
async function lockInstance(dir: string): Promise<string | null> {
  try {
    const stat = await fs.stat(dir, { bigint: true });
    return `${stat.ino}:${stat.birthtimeNs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/**
 * Removes the lock at `lockDir` when its holder file names a holder that is
 * provably gone AND was written for this very lock directory (a taker that has
 * just made the directory and not yet named itself is never mistaken for the
 * last, dead holder). True when the caller should try again at once.
 */
async function takeOverFromGoneHolder(
  lockDir: string,
  holderFile: string,
  self: ProcessIdentity,
): Promise<boolean> {
  const { text, holder } = await readHolder(holderFile);
  if (!holder) return false;
  const instance = await lockInstance(lockDir);
  if (instance === null) return true;
  if (instance !== holder.lock || !(await isProvablyGone(holder, self))) return false;
  // Moved aside first (atomic), then checked again: another taker may have
  // replaced the dead holder's lock with its own in between.
  const aside = `${lockDir}.gone-${self.pid}-${crypto().randomBytes(4).toString("hex")}`;
  try {
    await fs.rename(lockDir, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw err;
  }
  if ((await lockInstance(aside)) !== holder.lock) {
    // A live lock: put it back (its holder would otherwise see it as lost).
    await fs.rename(aside, lockDir).catch(() => fs.rm(aside, { recursive: true, force: true }));
    return false;
  }
  await fs.rm(aside, { recursive: true, force: true });
  if ((await readHolder(holderFile)).text === text) await fs.rm(holderFile, { force: true });
  return true;
}
