// Who a process is, beyond its pid: a pid is given to another process once its
// holder dies, so a lock that names only a pid can neither be trusted nor broken.
// The start time (/proc/<pid>/stat field 22, clock ticks since boot) together with
// the boot id and the pid namespace names one process for its whole life.
import * as fs from "node:fs/promises";

export interface ProcessIdentity {
  pid: number;
  /** /proc/<pid>/stat field 22, as text: ticks since boot can exceed 2^53 in theory. */
  startTime: string;
  /** /proc/sys/kernel/random/boot_id: start times restart from zero at every boot. */
  bootId: string;
  /** The pid namespace, e.g. `pid:[4026531836]`: the same pid names another process in another one. */
  pidNamespace: string;
}

type ProcStat = { startTime: string; zombie: boolean } | "none" | "unknown";

/**
 * A process's start time and whether it has stopped (a zombie does nothing more);
 * "none" when no process has that pid, "unknown" when /proc would not say.
 */
async function readStat(pid: number): Promise<ProcStat> {
  let text: string;
  try {
    text = await fs.readFile(`/proc/${pid}/stat`, "utf8");
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? "none" : "unknown";
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const startTime = fields[19];
  if (!state || !startTime || !/^\d+$/.test(startTime)) return "unknown";
  return { startTime, zombie: state === "Z" || state === "X" };
}

/** This process's identity, or null where /proc does not tell it (then no lock is ever broken early). */
export async function ownIdentity(): Promise<ProcessIdentity | null> {
  try {
    const stat = await readStat(process.pid);
    if (typeof stat === "string") return null;
    const bootId = (await fs.readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
    const pidNamespace = await fs.readlink("/proc/self/ns/pid");
    return { pid: process.pid, startTime: stat.startTime, bootId, pidNamespace };
  } catch {
    return null;
  }
}

/**
 * True only when `holder` is provably gone: it was started in this boot and this
 * pid namespace (so its pid and start time mean the same here), and its pid now
 * names no process, a zombie, or a process started at another time. Anything
 * else (another boot, another namespace, an unreadable /proc) is not proof.
 */
export async function isProvablyGone(
  holder: ProcessIdentity,
  self: ProcessIdentity,
): Promise<boolean> {
  if (holder.bootId !== self.bootId || holder.pidNamespace !== self.pidNamespace) return false;
  if (holder.pid === self.pid) return holder.startTime !== self.startTime;
  const stat = await readStat(holder.pid);
  if (stat === "unknown") return false;
  return stat === "none" || stat.zombie || stat.startTime !== holder.startTime;
}
