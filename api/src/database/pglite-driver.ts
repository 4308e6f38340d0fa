// A minimal `pg`-shaped driver over an embedded PGlite database, for TypeORM's
// postgres dialect. PGlite is one session, so "connections" are handed out one
// at a time: a query runner (and so a transaction) owns the database until it
// releases it, and no other request's statement can slip into its transaction.
// (typeorm-pglite shares the session between runners and reports no row counts,
// which would break the conditional updates the state machine relies on.)
import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
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

/** The first SQL keyword, which `pg` reports as `command` and TypeORM switches on. */
function commandOf(sql: string): string {
  const match = /^\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*([A-Za-z]+)/.exec(sql);
  return (match?.[1] ?? "").toUpperCase();
}

/** How long a lock nobody refreshes stays valid: a process that died frees its directory after this. */
export const DATA_DIR_LOCK_STALE_MS = 20_000;

/**
 * One process at a time may own a PGlite data directory: a second one would
 * corrupt it. The owner holds a lock (proper-lockfile: a directory whose mtime
 * it refreshes), so a lock left by a process that died goes stale and is taken
 * over, whatever pid it had or has now.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    return lockSync(dataDir, {
      lockfilePath: join(dataDir, "support-api.lock"),
      stale: DATA_DIR_LOCK_STALE_MS,
      update: DATA_DIR_LOCK_STALE_MS / 4,
      // Another process may have taken the directory over: stop rather than corrupt it.
      onCompromised: (err) => {
        throw new DataDirLockedError(`lost the lock on data directory ${dataDir}: ${err.message}`);
      },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw err;
    throw new DataDirLockedError(
      `data directory ${dataDir} is in use by another support-api process; stop it or use another --data-dir (the lock of one that died frees itself after ${DATA_DIR_LOCK_STALE_MS / 1000} s)`,
    );
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
