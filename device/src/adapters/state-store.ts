// Tunnel records on disk: <dir>/tunnels/<id>.json (0600), WireGuard configs in
// <dir>/wg, per-tunnel locks in <dir>/locks. Writes go through write-file-atomic
// (a synced temp file renamed in place), so a crash leaves the old record or the new one, never half.
// Locks go through proper-lockfile, so the agent and a manual command never work on one tunnel at once.
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { parseWire, tunnelIdSchema } from "@support-tunnel/common";
import * as lockfile from "proper-lockfile";
import writeFileAtomic from "write-file-atomic";
import { DeviceError } from "../errors";
import { tunnelRecordSchema, type TunnelRecord } from "../record";
import type { StateStore } from "./ports";

const INTERFACE = /^std[0-9a-f]{12}$/;

export interface FileStateStoreOptions {
  /** How long `lock` waits for another process before giving up. Default 120 s. */
  lockTimeoutMs?: number;
  lockPollMs?: number;
  /**
   * A live holder refreshes its lock every half of this; one not refreshed for
   * this long was left by a process that died, and is taken over. Default 10 s
   * (proper-lockfile's), at least 2 s.
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
    const tunnelId = parseWire(tunnelIdSchema, id, "tunnel id");
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
    // write-file-atomic syncs the file, not the directory: sync it so the rename survives a power cut.
    const dirHandle = await fs.open(path.dirname(file), "r");
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
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
      const m = /^([0-9a-f-]{36})\.json$/.exec(name);
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
      return parseWire(tunnelRecordSchema, JSON.parse(text), "record");
    } catch (err) {
      throw new DeviceError(`state file ${file} is damaged: ${(err as Error).message}`);
    }
  }

  async write(record: TunnelRecord): Promise<void> {
    await this.ensureDirs();
    const valid = parseWire(tunnelRecordSchema, record, "record");
    await this.writeAtomic(this.recordPath(valid.tunnelId), `${JSON.stringify(valid, null, 2)}\n`);
  }

  async remove(id: string): Promise<void> {
    await fs.rm(this.recordPath(id), { force: true });
  }

  /**
   * The lock is the directory locks/<id>, kept fresh by its holder. Staleness is
   * told by that freshness, never by a pid, so a pid the system has since given
   * to another process cannot keep a dead holder's lock alive. locks/<id>.pid
   * only names the holder in the "busy" message.
   */
  async lock(id: string): Promise<() => Promise<void>> {
    await this.ensureDirs();
    const tunnelId = parseWire(tunnelIdSchema, id, "tunnel id");
    const lockDir = path.join(this.sub("locks"), tunnelId);
    const holderFile = `${lockDir}.pid`;
    let lost: Error | undefined;
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(lockDir, {
        lockfilePath: lockDir,
        realpath: false,
        stale: this.lockStaleMs,
        retries: {
          retries: Math.ceil(this.lockTimeoutMs / this.lockPollMs),
          factor: 1,
          minTimeout: this.lockPollMs,
          maxTimeout: this.lockPollMs,
          maxRetryTime: this.lockTimeoutMs,
        },
        // Not proper-lockfile's default (a throw from a timer, which would kill the
        // agent): the work in hand finishes and its release reports the loss.
        onCompromised: (err) => {
          lost = err;
        },
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw err;
      const holder = await readPid(holderFile);
      throw new DeviceError(`tunnel ${id} is busy (locked by pid ${holder ?? "?"}); try again`);
    }
    await fs.writeFile(holderFile, `${process.pid}\n`, { mode: 0o600 });
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

async function readPid(file: string): Promise<number | null> {
  try {
    const n = Number.parseInt(await fs.readFile(file, "utf8"), 10);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
