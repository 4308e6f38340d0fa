// A lock shared by processes: a directory made with mkdir (atomic: one maker
// wins), its mtime refreshed by the holder, taken over once not refreshed for
// the stale time. It is proper-lockfile's protocol on disk, so a release that
// still locks through proper-lockfile and this one exclude each other; done here
// because proper-lockfile and what it pulls in (graceful-fs, retry,
// signal-exit) cost an idle agent ~7 MiB for what is a few system calls.
import * as fs from "node:fs/promises";

/* eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when needed: node:crypto costs an idle agent ~2 MiB */
const crypto = () => require("node:crypto") as typeof import("node:crypto");

/** Another holder has the lock and keeps it fresh. */
export class LockedError extends Error {
  readonly code = "ELOCKED";
  constructor(dir: string) {
    super(`${dir} is locked by another process`);
  }
}

export interface DirLockOptions {
  /** A lock not refreshed for this long is taken over; the holder refreshes every half of it. */
  staleMs: number;
  /**
   * Called (once) when the holder finds its lock gone, changed by someone else,
   * or not refreshed in time: another process may hold it now. Not thrown from
   * the timer, which would end the process: the caller decides.
   */
  onCompromised: (err: Error) => void;
}

const errnoCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** Takes the lock at `dir` or throws `LockedError`; resolves to its release. */
export async function takeDirLock(
  dir: string,
  options: DirLockOptions,
): Promise<() => Promise<void>> {
  await makeOrTakeOverStale(dir, options.staleMs);
  let lastMtimeMs = (await fs.stat(dir)).mtimeMs;
  let lastRefreshAt = Date.now();
  let released = false;
  let compromised = false;
  let timer: NodeJS.Timeout | undefined;
  const lose = (err: Error) => {
    if (compromised || released) return;
    compromised = true;
    options.onCompromised(err);
  };
  const refresh = async () => {
    try {
      // Later than the stale time: another process may have taken it over meanwhile.
      if (Date.now() - lastRefreshAt > options.staleMs)
        throw new Error("not refreshed within the stale time");
      const stat = await fs.stat(dir);
      if (stat.mtimeMs !== lastMtimeMs) throw new Error("changed by another process");
      const now = new Date();
      await fs.utimes(dir, now, now);
      lastMtimeMs = (await fs.stat(dir)).mtimeMs;
      lastRefreshAt = Date.now();
    } catch (err) {
      const why =
        errnoCode(err) === "ENOENT" ? "removed by another process" : (err as Error).message;
      return lose(new Error(`the lock ${dir}: ${why}`));
    }
    schedule();
  };
  const schedule = () => {
    if (released) return;
    // Unref'd: a held lock does not keep the process alive by itself.
    timer = setTimeout(() => void refresh(), options.staleMs / 2).unref();
  };
  schedule();
  return async () => {
    released = true;
    clearTimeout(timer);
    if (compromised) return;
    await fs.rmdir(dir).catch((err: unknown) => {
      if (errnoCode(err) !== "ENOENT") throw err;
    });
  };
}

async function makeOrTakeOverStale(dir: string, staleMs: number): Promise<void> {
  try {
    await fs.mkdir(dir);
    return;
  } catch (err) {
    if (errnoCode(err) !== "EEXIST") throw err;
  }
  if (!(await isStale(dir, staleMs))) throw new LockedError(dir);
  // Moved aside first (atomic), then checked again: another taker may have
  // replaced the stale lock with its own fresh one in between.
  const aside = `${dir}.stale-${process.pid}-${crypto().randomBytes(4).toString("hex")}`;
  try {
    await fs.rename(dir, aside);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err;
  }
  if (!(await isStale(aside, staleMs))) {
    await fs.rename(aside, dir).catch(() => fs.rm(aside, { recursive: true, force: true }));
    throw new LockedError(dir);
  }
  await fs.rm(aside, { recursive: true, force: true });
  try {
    await fs.mkdir(dir);
  } catch (err) {
    if (errnoCode(err) === "EEXIST") throw new LockedError(dir);
    throw err;
  }
}

/** True when `dir` was not refreshed for `staleMs`, or is gone. */
async function isStale(dir: string, staleMs: number): Promise<boolean> {
  try {
    return (await fs.stat(dir)).mtimeMs < Date.now() - staleMs;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return true;
    throw err;
  }
}
