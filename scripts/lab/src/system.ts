// Small OS helpers the lab needs: running root tools (async for setup, sync for
// teardown, which must also work from an `exit` handler), process liveness that
// survives pid reuse, and a cross-process lock around lab.json.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { execa } from "execa";

/** PATH with the sbin directories, where ip, nft, sshd and useradd live. */
export const SBIN_PATH = [
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/bin",
  "/sbin",
  "/bin",
  ...(process.env.PATH ?? "").split(":").filter(Boolean),
]
  .filter((p, i, all) => all.indexOf(p) === i)
  .join(":");

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs a root tool; throws with the command and its stderr when it fails. */
export async function run(
  file: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number; reject?: boolean } = {},
): Promise<RunResult> {
  const result = await execa(file, args, {
    input: options.input,
    timeout: options.timeoutMs ?? 20_000,
    reject: false,
    env: { PATH: SBIN_PATH },
    stripFinalNewline: true,
  });
  const exitCode = result.exitCode ?? -1;
  if (exitCode !== 0 && options.reject !== false) {
    const why = result.timedOut ? "timed out" : `exit ${exitCode}`;
    throw new Error(`${file} ${args.join(" ")}: ${why}: ${String(result.stderr).trim()}`);
  }
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode };
}

/** Best-effort synchronous run for teardown: never throws. */
export function runSync(file: string, args: readonly string[], timeoutMs = 10_000): RunResult {
  const result = spawnSync(file, args, {
    encoding: "utf8",
    timeout: timeoutMs,
    env: { PATH: SBIN_PATH },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return {
    stdout: result.stdout ?? "",
    stderr: result.stderr ?? "",
    exitCode: result.status ?? -1,
  };
}

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The kernel's start time of a process (clock ticks since boot, field 22 of
 * /proc/<pid>/stat), or null if it is gone. Recorded next to pids so a reused
 * pid is never mistaken for a lab's owner or holder.
 */
export function processStartTime(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); a zombie counts as gone.
    if (fields[0] === "Z") return null;
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

export function isProcessAlive(pid: number, startTime?: number | null): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const actual = processStartTime(pid);
  if (actual === null) return false;
  return startTime === undefined || startTime === null || actual === startTime;
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL and wait a little more. Synchronous. */
export function killPidsSync(pids: readonly number[], graceMs = 2000): void {
  const alive = () => pids.filter((p) => isProcessAlive(p));
  for (const pid of pids) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (alive().length && Date.now() < deadline) sleepSync(25);
  for (const pid of alive()) signal(pid, "SIGKILL");
  const hardDeadline = Date.now() + 2000;
  while (alive().length && Date.now() < hardDeadline) sleepSync(25);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * A lock directory (`mkdir` is atomic) holding the owner's pid, so a lock left
 * by a crashed process is broken by the next taker instead of blocking forever.
 */
export async function withLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const ownerFile = path.join(lockDir, "owner");
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(ownerFile, `${process.pid} ${processStartTime(process.pid) ?? ""}`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      breakStaleLock(lockDir, ownerFile);
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${lockDir}`);
      await sleep(20 + Math.random() * 30);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

function breakStaleLock(lockDir: string, ownerFile: string): void {
  let owner: string;
  try {
    owner = fs.readFileSync(ownerFile, "utf8");
  } catch {
    // Being created right now, or its creator died between mkdir and write:
    // only break it once it has been ownerless for a while.
    try {
      if (Date.now() - fs.statSync(lockDir).mtimeMs > 5000)
        fs.rmSync(lockDir, { recursive: true, force: true });
    } catch {
      // gone already
    }
    return;
  }
  const [pid, start] = owner.split(" ");
  if (!isProcessAlive(Number(pid), start ? Number(start) : undefined)) {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

/** Writes a file atomically (temp file + rename) so readers never see half a lab.json. */
export function writeFileAtomic(file: string, content: string, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(16).slice(2)}.tmp`;
  fs.writeFileSync(tmp, content, { mode });
  fs.renameSync(tmp, file);
}
