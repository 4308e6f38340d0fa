// Small OS helpers the lab needs: running root tools (async for setup, sync for
// teardown, which must also work from an `exit` handler), process liveness that
// survives pid reuse, and a cross-process lock around lab.json.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { runProgram } from "@support-tunnel/common/dist/run-program";
import { lock } from "proper-lockfile";

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
  const result = await runProgram(file, args, {
    input: options.input,
    timeoutMs: options.timeoutMs ?? 20_000,
    env: { ...process.env, PATH: SBIN_PATH },
  });
  const exitCode = result.exitCode ?? -1;
  const stderr = result.startError ? result.startError.message : result.stderr;
  if (exitCode !== 0 && options.reject !== false) {
    const why = result.timedOut ? "timed out" : `exit ${exitCode}`;
    throw new Error(`${file} ${args.join(" ")}: ${why}: ${stderr.trim()}`);
  }
  return { stdout: result.stdout, stderr, exitCode };
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
 * How long a lock may go without its holder refreshing it before another
 * process takes it over: a holder that died stops refreshing. Far above the
 * longest synchronous teardown done under a lock, which holds up the refresh.
 */
const LOCK_STALE_MS = 20_000;

/**
 * Runs `fn` holding the cross-process lock `lockDir` (proper-lockfile: a
 * directory whose mtime the holder keeps fresh), so a lock left by a crashed
 * process is taken over once stale instead of blocking forever.
 */
export async function withLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let release: () => Promise<void>;
  for (;;) {
    try {
      release = await lock(lockDir, {
        lockfilePath: lockDir,
        realpath: false,
        stale: LOCK_STALE_MS,
        // Taken over (this process was blocked past the stale time) or removed
        // with its lab: say so rather than crash from a timer.
        onCompromised: (error) =>
          console.error(`lab: lost lock ${lockDir} while holding it: ${error.message}`),
      });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${lockDir}`);
      await sleep(20 + Math.random() * 30);
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
