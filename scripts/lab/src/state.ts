// The lab's state on disk: one directory per lab under LAB_ROOT holding lab.json
// (what every process attached to the lab reads), replaced whole on each change
// and changed only under the lab's lock.
import * as fs from "node:fs";
import * as path from "node:path";
import writeFileAtomic from "write-file-atomic";
import type { HostRecord } from "./host";
import { isProcessAlive, withLock } from "./system";

/** Where every lab keeps its state: one directory per lab. */
export const LAB_ROOT = "/run/support-tunnel-lab";

/** Held while labs are created or removed (names, segments and root veths are machine-wide). */
export const LABS_LOCK = path.join(LAB_ROOT, ".lock");

export interface LabState {
  version: 1;
  name: string;
  /** 4 hex chars naming the root veth. */
  id: string;
  ownerPid: number;
  ownerStartTime: number | null;
  createdAt: string;
  internet: {
    cidr: string;
    rootAddress: string;
    rootInterface: string;
    netns: string;
  };
  nextIndex: number;
  hosts: Record<string, HostRecord>;
}

export function labDir(name: string): string {
  return path.join(LAB_ROOT, name);
}

/** A lab's lab.json: replaced whole on every write, changed under the lab's lock. */
export class LabStateFile {
  constructor(readonly dir: string) {}

  get path(): string {
    return path.join(this.dir, "lab.json");
  }

  read(): LabState | null {
    try {
      return JSON.parse(fs.readFileSync(this.path, "utf8")) as LabState;
    } catch {
      return null;
    }
  }

  /** write-file-atomic: readers in other processes never see half a file. */
  write(state: LabState): void {
    writeFileAtomic.sync(this.path, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  }

  /** Reads, changes and writes lab.json under the lab's lock; also returns what `change` returns. */
  async update<T>(change: (state: LabState) => T): Promise<{ state: LabState; result: T }> {
    return withLock(path.join(this.dir, ".lock"), async () => {
      const state = this.read();
      if (!state) throw new Error(`lab ${path.basename(this.dir)} is gone`);
      const result = change(state);
      this.write(state);
      return { state, result };
    });
  }
}

export function stateFile(name: string): LabStateFile {
  return new LabStateFile(labDir(name));
}

export function readState(name: string): LabState | null {
  return stateFile(name).read();
}

/** Every lab on the machine that has a lab.json (live or not). */
export function listLabStates(): LabState[] {
  return labNames()
    .map((n) => readState(n))
    .filter((s): s is LabState => s !== null);
}

/** Directory names under LAB_ROOT (lock directories start with a dot). */
export function labNames(): string[] {
  try {
    return fs.readdirSync(LAB_ROOT).filter((n) => !n.startsWith("."));
  } catch {
    return [];
  }
}

export function statMtime(p: string): number {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

/** Built completely (records written before `ready` existed count as built). */
export function isReady(r: HostRecord): boolean {
  return r.ready !== false && r.holderPid > 0;
}

/** Left half-built by a process that died (a Ctrl-C'd `support create`). */
export function isAbandoned(r: HostRecord): boolean {
  return r.ready === false && !!r.creatorPid && !isProcessAlive(r.creatorPid, r.creatorStartTime);
}
