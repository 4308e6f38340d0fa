// A minimal `pg`-shaped driver over an embedded PGlite database, for TypeORM's
// postgres dialect. PGlite is one session, so "connections" are handed out one
// at a time: a query runner (and so a transaction) owns the database until it
// releases it, and no other request's statement can slip into its transaction.
// (typeorm-pglite shares the session between runners and reports no row counts,
// which would break the conditional updates the state machine relies on.)
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { lockSync } from "proper-lockfile";

interface PgResult {
  command: string;
  rows: unknown[];
  rowCount: number;
  fields: { name: string; dataTypeID: number }[];
}

type Release = (err?: unknown) => void;
type ConnectCallback = (err: Error | null, client: PgliteClient | null, release: Release) => void;
type QueryCallback = (err: Error | null, result: PgResult | null) => void;

export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
}

/** The embedded database's files are there but PostgreSQL can't use them. */
export class DataDirBrokenError extends Error {
  override name = "DataDirBrokenError";
}

/** What the database layer tells the operator about (e.g. the first start is slow: it says why). */
export type DatabaseEventLog = (
  level: "info" | "warn",
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** The first SQL keyword, which `pg` reports as `command` and TypeORM switches on. */
function commandOf(sql: string): string {
  const match = /^\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*([A-Za-z]+)/.exec(sql);
  return (match?.[1] ?? "").toUpperCase();
}

/** How long a lock nobody refreshes stays valid: a process that died frees its directory after this. */
export const DATA_DIR_LOCK_STALE_MS = 20_000;

/** Who holds a lock: enough for a later start on the same machine to tell that it died. */
interface LockOwner {
  bootId: string;
  pidNamespace: string;
  pid: number;
}

/** This process as a lock owner; null where that can't be told (not Linux): staleness decides. */
function thisProcess(): LockOwner | null {
  try {
    return {
      bootId: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(),
      pidNamespace: readlinkSync("/proc/self/ns/pid"),
      pid: process.pid,
    };
  } catch {
    return null;
  }
}

/**
 * True only when the lock's recorded owner surely is gone: it ran since this
 * boot, in this pid namespace (so its pid means the same here), and no process
 * has that pid now. A pid taken by another process since reads as alive: the
 * lock then goes stale as before.
 */
function ownerDied(ownerFile: string): boolean {
  const me = thisProcess();
  if (!me) return false;
  let owner: Partial<LockOwner>;
  try {
    owner = JSON.parse(readFileSync(ownerFile, "utf8")) as Partial<LockOwner>;
  } catch {
    return false;
  }
  if (owner.bootId !== me.bootId || owner.pidNamespace !== me.pidNamespace) return false;
  if (!Number.isInteger(owner.pid) || owner.pid === me.pid) return false;
  try {
    process.kill(owner.pid!, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * One process at a time may own a PGlite data directory: a second one would
 * corrupt it. The owner holds a lock (proper-lockfile: a directory whose mtime
 * it refreshes), so a lock left by a process that died goes stale and is taken
 * over, whatever pid it had or has now. The owner also notes who it is beside
 * the lock, so that a start right after a crash or a kill on the same machine
 * need not wait for the lock to go stale.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockfilePath = join(dataDir, "support-api.lock");
  const ownerFile = `${lockfilePath}.owner`;
  const lock = () =>
    lockSync(dataDir, {
      lockfilePath,
      stale: DATA_DIR_LOCK_STALE_MS,
      update: DATA_DIR_LOCK_STALE_MS / 4,
      // Another process may have taken the directory over: stop rather than corrupt it.
      onCompromised: (err) => {
        throw new DataDirLockedError(`lost the lock on data directory ${dataDir}: ${err.message}`);
      },
    });
  let release: () => void;
  try {
    try {
      release = lock();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ELOCKED" || !ownerDied(ownerFile)) throw err;
      // Its owner is gone: age the lock so proper-lockfile takes it over as stale.
      const longAgo = new Date(Date.now() - 2 * DATA_DIR_LOCK_STALE_MS);
      utimesSync(lockfilePath, longAgo, longAgo);
      release = lock();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw err;
    throw new DataDirLockedError(
      `data directory ${dataDir} is in use by another support-api process; stop it or use another --data-dir (the lock of one that died frees itself after ${DATA_DIR_LOCK_STALE_MS / 1000} s)`,
    );
  }
  const me = thisProcess();
  if (me) writeFileSync(ownerFile, JSON.stringify(me), { mode: 0o600 });
  return () => {
    rmSync(ownerFile, { force: true });
    release();
  };
}

/** Where PostgreSQL's files live: beside the lock, since initdb wants a directory of its own. */
const CLUSTER_DIR = "pgdata";
/** A cluster being created; renamed to CLUSTER_DIR once complete. */
const STAGING_PREFIX = "pgdata.init-";

function brokenDataDir(clusterDir: string, cause: unknown): DataDirBrokenError {
  const reason = (cause as Error)?.message ?? String(cause);
  return new DataDirBrokenError(
    `the embedded database in ${clusterDir} is broken (${reason}), probably by an earlier ` +
      `version's first start that was interrupted. If it holds nothing you need, move it ` +
      `away (mv ${clusterDir} ${clusterDir}.broken) and start again: a fresh, empty ` +
      `database is created. Otherwise restore the data directory from a backup.`,
    { cause },
  );
}

/**
 * Opens the PostgreSQL cluster under `dataDir`, creating it on the first start.
 * A first start builds the cluster in a staging directory and renames it into
 * place only once complete, so a start killed half-way leaves no half-made
 * database behind: the next start discards the staging directory and begins
 * again. The caller holds the directory's lock, so a staging directory present
 * now was left by a process that died.
 */
async function openCluster(dataDir: string, log: DatabaseEventLog): Promise<PGlite> {
  const clusterDir = join(dataDir, CLUSTER_DIR);
  for (const name of readdirSync(dataDir)) {
    if (name.startsWith(STAGING_PREFIX)) {
      rmSync(join(dataDir, name), { recursive: true, force: true });
    }
  }
  if (!existsSync(clusterDir)) {
    log("info", "initializing the database (first start)", { dataDir });
    const staging = join(dataDir, STAGING_PREFIX + randomBytes(4).toString("hex"));
    try {
      const fresh = await PGlite.create({ dataDir: staging });
      await fresh.close();
      renameSync(staging, clusterDir);
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw err;
    }
  }
  let db: PGlite;
  try {
    db = await PGlite.create({ dataDir: clusterDir });
  } catch (err) {
    throw brokenDataDir(clusterDir, err);
  }
  // A cluster whose initdb never finished opens, then lacks the system views
  // every later query needs: say so now, with the way out.
  try {
    await db.query("SELECT 1 FROM information_schema.tables LIMIT 1");
  } catch (err) {
    await db.close().catch(() => undefined);
    throw brokenDataDir(clusterDir, err);
  }
  return db;
}

class PgliteClient extends EventEmitter {
  constructor(private readonly db: PGlite) {
    super();
  }

  query(
    sql: string,
    params?: unknown[] | QueryCallback,
    callback?: QueryCallback,
  ): Promise<PgResult> {
    const cb = typeof params === "function" ? params : callback;
    const values = typeof params === "function" ? undefined : params;
    const run = async (): Promise<PgResult> => {
      if (values && values.length > 0) {
        const r = await this.db.query(sql, values);
        return {
          command: commandOf(sql),
          rows: r.rows,
          rowCount: r.affectedRows ?? r.rows.length,
          fields: r.fields,
        };
      }
      // No parameters: may be several statements (migrations); answer with the last, like pg.
      const results = await this.db.exec(sql);
      const last = results[results.length - 1];
      return {
        command: commandOf(sql),
        rows: last?.rows ?? [],
        rowCount: last?.affectedRows ?? last?.rows.length ?? 0,
        fields: last?.fields ?? [],
      };
    };
    const promise = run();
    if (cb) {
      promise.then(
        (r) => cb(null, r),
        (e: Error) => cb(e, null),
      );
    }
    return promise;
  }
}

/** Builds the `driver` option for TypeORM: `{ Pool }` bound to one data directory (or memory when null). */
export function pgliteDriver(
  dataDir: string | null,
  log: DatabaseEventLog = () => undefined,
): { Pool: new () => unknown } {
  class Pool extends EventEmitter {
    private opening: Promise<PGlite> | null = null;
    private releaseLock: (() => void) | null = null;
    private client: PgliteClient | null = null;
    /** Waiters for the one session, in arrival order. */
    private readonly queue: (() => void)[] = [];
    private busy = false;

    private open(): Promise<PGlite> {
      this.opening ??= (async () => {
        if (dataDir !== null) this.releaseLock = acquireDataDirLock(dataDir);
        try {
          const db = dataDir === null ? await PGlite.create() : await openCluster(dataDir, log);
          this.client = new PgliteClient(db);
          return db;
        } catch (err) {
          this.releaseLock?.();
          this.releaseLock = null;
          throw err;
        }
      })();
      return this.opening;
    }

    private acquire(): Promise<void> {
      if (!this.busy) {
        this.busy = true;
        return Promise.resolve();
      }
      return new Promise((resolve) => this.queue.push(resolve));
    }

    private release(): void {
      const next = this.queue.shift();
      if (next) next();
      else this.busy = false;
    }

    connect(callback: ConnectCallback): void {
      this.open()
        .then(() => this.acquire())
        .then(
          () => {
            let released = false;
            callback(null, this.client, () => {
              if (released) return;
              released = true;
              this.release();
            });
          },
          (err: Error) => callback(err, null, () => undefined),
        );
    }

    /**
     * LISTENs on `channel` for the life of the database (see
     * tunnel-change-feed.ts). Run between other statements, never inside a
     * transaction, whose rollback would undo it.
     */
    async listen(
      channel: string,
      onPayload: (payload: string) => void,
    ): Promise<() => Promise<void>> {
      const db = await this.open();
      const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
        await this.acquire();
        try {
          return await fn();
        } finally {
          this.release();
        }
      };
      const unlisten = await exclusive(() => db.listen(channel, onPayload));
      return () => exclusive(() => unlisten());
    }

    end(callback?: (err: Error | null) => void): void {
      const finish = async () => {
        if (!this.opening) return;
        const db = await this.opening.catch(() => null);
        this.opening = null;
        await db?.close();
        this.releaseLock?.();
        this.releaseLock = null;
      };
      finish().then(
        () => callback?.(null),
        (err: Error) => callback?.(err),
      );
    }
  }
  return { Pool: Pool };
}
