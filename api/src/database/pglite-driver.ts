// A minimal `pg`-shaped driver over an embedded PGlite database, for TypeORM's
// postgres dialect. PGlite is one session, so "connections" are handed out one
// at a time: a query runner (and so a transaction) owns the database until it
// releases it, and no other request's statement can slip into its transaction.
// (typeorm-pglite shares the session between runners and reports no row counts,
// which would break the conditional updates the state machine relies on.)
import { EventEmitter } from "node:events";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";

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

/** The first SQL keyword, which `pg` reports as `command` and TypeORM switches on. */
function commandOf(sql: string): string {
  const match = /^\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*([A-Za-z]+)/.exec(sql);
  return (match?.[1] ?? "").toUpperCase();
}

/**
 * One process at a time may own a PGlite data directory: a second one would
 * corrupt it. A lock file holding the owner's pid is cheap to check; a stale one
 * (its process is gone) is taken over.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockPath = join(dataDir, "support-api.lock");
  if (heldHere.has(lockPath)) {
    throw new DataDirLockedError(`data directory ${dataDir} is already open in this process`);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      heldHere.add(lockPath);
      return () => {
        heldHere.delete(lockPath);
        rmSync(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(readFileSync(lockPath, "utf8").trim());
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new DataDirLockedError(
          `data directory ${dataDir} is in use by another support-api process (pid ${owner}); stop it or use another --data-dir`,
        );
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new DataDirLockedError(`could not lock data directory ${dataDir}`);
}

/** Lock files this process holds. */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  // Our own pid in a lock we don't hold is a leftover of an earlier life with the
  // same pid, e.g. pid 1 in a restarted container.
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
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
export function pgliteDriver(dataDir: string | null): { Pool: new () => unknown } {
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
          // PostgreSQL's files go in a subdirectory: initdb wants an empty directory, and the lock file lives beside it.
          const db = await PGlite.create(
            dataDir === null ? {} : { dataDir: join(dataDir, "pgdata") },
          );
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
