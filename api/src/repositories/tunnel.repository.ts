// Tunnels. Every state change is a conditional UPDATE whose WHERE clause holds
// the precondition, so concurrent requests (two engineers approving, a stop
// racing a connect, two replicas sweeping) leave exactly one winner; the audit
// row is written in the same transaction, and so is the notification that wakes
// long-polls on every replica (see database/tunnel-change-feed.ts).
import { randomUUID } from "node:crypto";
import { Injectable } from "@nestjs/common";
import { InjectRepository } from "@nestjs/typeorm";
import { StoppedBy, TunnelState, stateRank } from "@support-tunnel/common";
import {
  In,
  LessThan,
  LessThanOrEqual,
  MoreThan,
  type EntityManager,
  type FindOptionsWhere,
  type Repository,
} from "typeorm";
import type { QueryDeepPartialEntity } from "typeorm/query-builder/QueryPartialEntity";
import { TUNNEL_CHANGED_CHANNEL, tunnelChangePayload } from "../database/tunnel-change-feed";
import { TunnelEntity } from "../entities/tunnel.entity";
import { AuditRepository, type NewAuditEntry } from "./audit.repository";

const PENDING = stateRank(TunnelState.Pending);
const STARTED = stateRank(TunnelState.Started);
const RUNNING = stateRank(TunnelState.Running);
const COMPLETED = stateRank(TunnelState.Completed);
const TIMED_OUT = stateRank(TunnelState.TimedOut);

/** What stop() records in the audit log besides the tunnel, and how it names the two ends. */
export interface StopAudit {
  actor: string;
  actions: { stopped: string; timedOut: string };
  clientAddress: string | null;
  /** Checked before the statement: a client already gone stops nothing. */
  clientGone?: AbortSignal;
}

/**
 * stop()'s statement: the UPDATE choosing timed out or stopped by the row's
 * expiry, the audit entry (action and detail from the row as ended), and the
 * notification, whose payload is tunnelChangePayload's `<id>:<rank>`.
 */
const STOP_SQL = `WITH ended AS (
  UPDATE "tunnels" SET
    "state" = CASE WHEN "expires_at" <= $2 THEN $4::int ELSE $3::int END,
    "stopped_by" = CASE WHEN "expires_at" <= $2 THEN $5::text ELSE $6::text END,
    "stop_reason" = CASE WHEN "expires_at" <= $2 THEN $7::text ELSE $8::text END,
    "updated_at" = $2,
    "ended_at" = $2
  WHERE "id" = $1 AND "state" < $3
  RETURNING *
), logged AS (
  INSERT INTO "audit_entries" ("id", "tunnel_id", "actor", "action", "detail", "client_address", "at")
  SELECT $9::uuid, "id", $10::text,
    CASE WHEN "stopped_by" = $5::text THEN $11::text ELSE $12::text END,
    "stop_reason", $13::text, $2
  FROM ended
  RETURNING "id"
), announced AS (
  SELECT pg_notify($14::text, "id"::text || ':' || "state"::text) FROM ended
)
SELECT ended.*, (SELECT count(*) FROM logged) AS logged, (SELECT count(*) FROM announced) AS announced
FROM ended`;

/** Why a tunnel timed out, in its stop_reason. */
const EXPIRED_REASON = "expired";

/** The names the hot statements are prepared under on each pooled connection. */
const DEVICE_LOOKUP_STATEMENT = "support_tunnel_device_lookup";
const STOP_STATEMENT = "support_tunnel_stop";
const REREAD_STATEMENT = "support_tunnel_reread";

/** pg's Pool#query with a named (prepared) statement. */
type PreparedQuery = (query: {
  name: string;
  text: string;
  values: unknown[];
}) => Promise<{ rows: Record<string, unknown>[] }>;

export interface ServerFields {
  instanceId: string;
  provider: string;
  publicIp: string;
  wgPort: number;
  wgPublicKey: string;
  approval: string;
}

@Injectable()
export class TunnelRepository {
  constructor(
    @InjectRepository(TunnelEntity) private readonly tunnels: Repository<TunnelEntity>,
    private readonly audit: AuditRepository,
  ) {}

  findById(id: string): Promise<TunnelEntity | null> {
    return this.tunnels.findOneBy({ id });
  }

  /** Reads asked for in this turn of the event loop, by tunnel id; null when none is pending. */
  private rereads: Map<string, ((read: Promise<TunnelEntity | null>) => void)[]> | null = null;

  /**
   * A tunnel read again after a long-poll's wait. Waiters wake together (at
   * shutdown all of them; on a change, all the tunnel's), so the reads asked
   * for in one turn of the event loop are one query, not one per waiter.
   */
  findByIdAfterWait(id: string): Promise<TunnelEntity | null> {
    return new Promise((resolve) => {
      if (!this.rereads) {
        this.rereads = new Map();
        setImmediate(() => this.readBatch());
      }
      const waiting = this.rereads.get(id);
      if (waiting) waiting.push(resolve);
      else this.rereads.set(id, [resolve]);
    });
  }

  private readBatch(): void {
    const batch = this.rereads;
    this.rereads = null;
    if (!batch) return;
    // One array parameter, however many ids (IN (...) would take one each).
    const read = this.prepared(REREAD_STATEMENT, this.sqlFor.reread, [[...batch.keys()]]).then(
      (rows) => new Map(rows.map((row) => [row.id as string, this.hydrate(row)])),
    );
    for (const [id, waiting] of batch) {
      const one = read.then((byId) => byId.get(id) ?? null);
      for (const resolve of waiting) resolve(one);
    }
  }

  /**
   * The tunnel a device token opens: the device routes' one query, on every
   * poll of every device. The statement is written once from the entity's
   * columns (TypeORM would build it anew per call, a cost that showed on this
   * route). The device's last request is not read: LastRequests keeps it.
   */
  async findForDevice(deviceTokenHash: string): Promise<TunnelEntity | null> {
    const row = (
      await this.prepared(DEVICE_LOOKUP_STATEMENT, this.sqlFor.deviceLookup, [deviceTokenHash])
    )[0];
    if (!row) return null;
    return this.hydrate(row);
  }

  /** An entity from a row of all its columns, as TypeORM would make it. */
  private hydrate(row: Record<string, unknown>): TunnelEntity {
    const tunnel = new TunnelEntity();
    const driver = this.tunnels.manager.connection.driver;
    for (const column of this.tunnels.metadata.columns) {
      column.setEntityValue(tunnel, driver.prepareHydratedValue(row[column.databaseName], column));
    }
    return tunnel;
  }

  private wholeTunnelSql: { deviceLookup: string; reread: string } | undefined;

  /** The hot statements that read whole tunnels, written once from the entity's columns. */
  private get sqlFor(): { deviceLookup: string; reread: string } {
    if (this.wholeTunnelSql) return this.wholeTunnelSql;
    const columns = this.tunnels.metadata.columns.map((c) => `t."${c.databaseName}"`).join(", ");
    return (this.wholeTunnelSql = {
      deviceLookup: `SELECT ${columns} FROM "tunnels" t WHERE t."device_token_hash" = $1`,
      reread: `SELECT ${columns} FROM "tunnels" t WHERE t."id" = ANY($1::uuid[])`,
    });
  }

  /**
   * A hot statement (every poll's lookup, the stop a long-poll waits for, the
   * woken long-polls' re-read): on PostgreSQL, prepared under `name` through
   * the pool under TypeORM, so there is no query runner to make, connect and
   * release per call and each connection plans it once. PGlite's pool takes
   * no statements: TypeORM's way.
   */
  private prepared(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<Record<string, unknown>[]> {
    const pool = (this.tunnels.manager.connection.driver as { master?: unknown }).master as
      { query?: PreparedQuery } | undefined;
    if (typeof pool?.query === "function") {
      return pool.query({ name, text, values }).then((result) => result.rows);
    }
    return this.tunnels.manager.query(text, values);
  }

  /**
   * Of many waits (a tunnel and the state rank waited on to change), those
   * whose tunnel has left that rank, with its rank now (null: gone), in one
   * query: the long-polls' safety re-read. Only the few that differ come back,
   * and the ids go as one text each way: with 19k waiting, reading every rank
   * back and building the array parameter held the event loop for long enough
   * to show in the wake-ups' p99 (issue 14).
   */
  async statesLeft(
    waits: readonly { id: string; rank: number }[],
  ): Promise<{ id: string; rank: number | null }[]> {
    if (waits.length === 0) return [];
    const rows = await this.tunnels.manager.query<
      { id: string; waited: number; state: number | null }[]
    >(
      `SELECT w.id::text AS id, w.rank AS waited, t."state" AS state
       FROM unnest(string_to_array($1, ',')::uuid[], string_to_array($2, ',')::int[]) AS w(id, rank)
       LEFT JOIN "tunnels" t ON t."id" = w.id
       WHERE t."id" IS NULL OR t."state" <> w.rank`,
      [waits.map((w) => w.id).join(","), waits.map((w) => w.rank).join(",")],
    );
    return rows.map((r) => ({ id: r.id, rank: r.state === null ? null : Number(r.state) }));
  }

  /**
   * Newest first, ordered by (created_at, id) so a page ends at a definite row and
   * the next one starts right after it (keyset paging: no row is skipped or shown
   * twice when tunnels are added between pages). With `customerIds`, only
   * tunnels of those customers and of no customer (what an engineer who is not
   * an admin may see).
   */
  list(query: {
    stateRank: number | null;
    liveOnly: boolean;
    after: { createdAt: Date; id: string } | null;
    limit: number;
    customerIds?: string[];
  }): Promise<TunnelEntity[]> {
    const q = this.tunnels.createQueryBuilder("t");
    if (query.customerIds !== undefined)
      q.andWhere(
        query.customerIds.length
          ? "(t.customer_id IS NULL OR t.customer_id IN (:...customerIds))"
          : "t.customer_id IS NULL",
        { customerIds: query.customerIds },
      );
    if (query.stateRank !== null) q.andWhere("t.state = :state", { state: query.stateRank });
    if (query.liveOnly) q.andWhere("t.state < :over", { over: COMPLETED });
    if (query.after)
      q.andWhere("(t.created_at, t.id) < (:afterAt, CAST(:afterId AS uuid))", {
        afterAt: query.after.createdAt,
        afterId: query.after.id,
      });
    return q.orderBy("t.created_at", "DESC").addOrderBy("t.id", "DESC").take(query.limit).getMany();
  }

  countByState(): Promise<{ state: number; count: number }[]> {
    return this.tunnels
      .createQueryBuilder("t")
      .select("t.state", "state")
      .addSelect("count(*)::int", "count")
      .groupBy("t.state")
      .getRawMany<{ state: number; count: number }>();
  }

  async insert(tunnel: TunnelEntity, audit: NewAuditEntry): Promise<void> {
    await this.tunnels.manager.transaction(async (manager) => {
      await manager.insert(TunnelEntity, tunnel);
      await this.audit.append(manager, audit);
    });
  }

  /**
   * pending → started, only while not expired. Null when the precondition failed.
   * `mayApprove` runs first in the same transaction (the access check, which
   * locks what grants it) and throws to refuse, rolling everything back.
   */
  approve(
    id: string,
    now: Date,
    server: ServerFields,
    approvedBy: string,
    audit: NewAuditEntry,
    mayApprove?: (manager: EntityManager) => Promise<void>,
  ): Promise<TunnelEntity | null> {
    return this.tunnels.manager.transaction(async (manager) => {
      await mayApprove?.(manager);
      const changed = await this.update(
        manager,
        { id, state: PENDING, expiresAt: MoreThan(now) },
        {
          state: STARTED,
          updatedAt: now,
          serverInstanceId: server.instanceId,
          serverProvider: server.provider,
          serverPublicIp: server.publicIp,
          serverWgPort: server.wgPort,
          serverWgPublicKey: server.wgPublicKey,
          approval: server.approval,
          approvedBy,
          refusalKind: null,
          refusedAt: null,
        },
      );
      if (changed) await this.changed(manager, [changed], audit);
      return changed;
    });
  }

  /**
   * started → pending: the device refused the approval (`refusal` set), or the
   * engineer whose server it names took it back (`instanceId` given). The one
   * way back in the state order, and it narrows: the approval and the server are
   * cleared, so nothing points the device anywhere until someone approves again.
   */
  unapprove(
    id: string,
    now: Date,
    change: { refusalKind: string } | { instanceId: string },
    audit: NewAuditEntry,
  ): Promise<TunnelEntity | null> {
    return this.tunnels.manager.transaction(async (manager) => {
      const refused = "refusalKind" in change;
      const changed = await this.update(
        manager,
        {
          id,
          state: STARTED,
          expiresAt: MoreThan(now),
          ...(refused ? {} : { serverInstanceId: change.instanceId }),
        },
        {
          state: PENDING,
          updatedAt: now,
          serverInstanceId: null,
          serverProvider: null,
          serverPublicIp: null,
          serverWgPort: null,
          serverWgPublicKey: null,
          approval: null,
          approvedBy: null,
          refusalKind: refused ? change.refusalKind : null,
          refusedAt: refused ? now : null,
        },
      );
      if (changed) await this.changed(manager, [changed], audit);
      return changed;
    });
  }

  /** started → running, only while not expired. */
  markRunning(
    id: string,
    now: Date,
    supportUser: string,
    audit: NewAuditEntry,
  ): Promise<TunnelEntity | null> {
    return this.tunnels.manager.transaction(async (manager) => {
      const changed = await this.update(
        manager,
        { id, state: STARTED, expiresAt: MoreThan(now) },
        { state: RUNNING, updatedAt: now, supportUser },
      );
      if (changed) await this.changed(manager, [changed], audit);
      return changed;
    });
  }

  /**
   * Ends a live tunnel: completed, stopped by `stoppedBy` — or timed out by
   * expiry when its time had already run out — with its audit entry and its
   * notification. Null when it had already ended.
   *
   * One statement, not five: each round trip is a write on a socket and a
   * wake of PostgreSQL, and the device's DELETE that ends a tunnel is what its
   * held long-poll waits for (issue 14). For the same reason it runs alone,
   * without BEGIN and COMMIT (two round trips more): a client already gone
   * stops nothing, as with append(), but once the statement runs the stop
   * stands. Whoever asked wants the tunnel ended, asking again answers the
   * ended tunnel, and a stop is the safe direction; the request log warns of
   * a change whose client left before its answer.
   */
  async stop(
    id: string,
    now: Date,
    stoppedBy: string,
    reason: string | null,
    audit: StopAudit,
  ): Promise<TunnelEntity | null> {
    audit.clientGone?.throwIfAborted();
    const rows = await this.prepared(STOP_STATEMENT, STOP_SQL, [
      id,
      now,
      COMPLETED,
      TIMED_OUT,
      StoppedBy.Expiry,
      stoppedBy,
      EXPIRED_REASON,
      reason,
      randomUUID(),
      audit.actor,
      audit.actions.timedOut,
      audit.actions.stopped,
      audit.clientAddress,
      TUNNEL_CHANGED_CHANNEL,
    ]);
    const row = rows[0];
    return row ? this.hydrate(row) : null;
  }

  /**
   * Times out every live tunnel whose time has run out. Safe with several
   * replicas: SKIP LOCKED keeps them off each other's rows and the state
   * condition means each tunnel is timed out (and audited) exactly once.
   */
  async timeOutExpired(
    now: Date,
    audit: (ended: TunnelEntity) => NewAuditEntry,
  ): Promise<TunnelEntity[]> {
    return this.tunnels.manager.transaction(async (manager) => {
      const due = await manager
        .createQueryBuilder(TunnelEntity, "t")
        .select("t.id")
        .where({ expiresAt: LessThanOrEqual(now), state: LessThan(COMPLETED) })
        .orderBy("t.expiresAt", "ASC")
        .limit(500)
        .setLock("pessimistic_write")
        .setOnLocked("skip_locked")
        .getMany();
      if (due.length === 0) return [];
      const ids = In(due.map((t) => t.id));
      await manager.update(
        TunnelEntity,
        { id: ids, state: LessThan(COMPLETED) },
        this.timedOut(now),
      );
      const ended = await manager.find(TunnelEntity, {
        where: { id: ids },
        order: { expiresAt: "ASC" },
      });
      await this.notify(manager, ended);
      for (const tunnel of ended) await this.audit.append(manager, audit(tunnel));
      return ended;
    });
  }

  /**
   * Announces a change and audits it, in its transaction: the audit row last,
   * since appending it is where a change whose client has gone is rolled back.
   */
  private async changed(
    manager: EntityManager,
    tunnels: TunnelEntity[],
    audit: NewAuditEntry,
  ): Promise<void> {
    await this.notify(manager, tunnels);
    await this.audit.append(manager, audit);
  }

  /**
   * Announces the tunnels' new states to every replica's long-polls. Sent in
   * the change's transaction, so it goes out when the change commits, and
   * never for a change rolled back. One statement, however many tunnels.
   */
  private async notify(manager: EntityManager, tunnels: TunnelEntity[]): Promise<void> {
    if (tunnels.length === 0) return;
    await manager.query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload", [
      TUNNEL_CHANGED_CHANNEL,
      tunnels.map((t) => tunnelChangePayload(t.id, t.state)),
    ]);
  }

  private timedOut(now: Date): QueryDeepPartialEntity<TunnelEntity> {
    return {
      state: TIMED_OUT,
      stoppedBy: StoppedBy.Expiry,
      stopReason: EXPIRED_REASON,
      updatedAt: now,
      endedAt: now,
    };
  }

  /** Applies `set` to the tunnel matching `where` (one row at most); the changed row, or null. */
  private async update(
    manager: EntityManager,
    where: FindOptionsWhere<TunnelEntity> & { id: string },
    set: QueryDeepPartialEntity<TunnelEntity>,
  ): Promise<TunnelEntity | null> {
    const result = await manager.update(TunnelEntity, where, set);
    if (!result.affected) return null;
    return manager.findOneByOrFail(TunnelEntity, { id: where.id });
  }
}
