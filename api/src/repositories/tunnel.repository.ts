// Tunnels. Every state change is one conditional UPDATE whose WHERE clause holds
// the precondition, so concurrent requests (two engineers approving, a stop
// racing a connect, two replicas sweeping) leave exactly one winner; the audit
// row is written in the same transaction.
import { Injectable } from "@nestjs/common";
import { DataSource, type EntityManager } from "typeorm";
import { TunnelEntity } from "../entities/tunnel.entity";
import { AuditRepository, type NewAuditEntry } from "./audit.repository";
import { queryRows } from "./sql";

/** Ranks as stored (see stateRank in common). */
export const RANK = { pending: 10, started: 20, running: 30, completed: 50, timedout: 60 } as const;

export interface ServerFields {
  instanceId: string;
  provider: string;
  publicIp: string;
  wgPort: number;
  wgPublicKey: string;
  approval: string;
}

type Row = Record<string, unknown>;

function toEntity(row: Row): TunnelEntity {
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  return Object.assign(new TunnelEntity(), {
    id: row.id as string,
    state: Number(row.state),
    network: row.network as string,
    hostname: (row.hostname as string | null) ?? null,
    description: (row.description as string | null) ?? null,
    deviceWgPublicKey: row.device_wg_public_key as string,
    deviceTokenHash: row.device_token_hash as string,
    createdAt: date(row.created_at)!,
    updatedAt: date(row.updated_at)!,
    expiresAt: date(row.expires_at)!,
    serverInstanceId: (row.server_instance_id as string | null) ?? null,
    serverProvider: (row.server_provider as string | null) ?? null,
    serverPublicIp: (row.server_public_ip as string | null) ?? null,
    serverWgPort: row.server_wg_port === null ? null : Number(row.server_wg_port),
    serverWgPublicKey: (row.server_wg_public_key as string | null) ?? null,
    approval: (row.approval as string | null) ?? null,
    approvedBy: (row.approved_by as string | null) ?? null,
    supportUser: (row.support_user as string | null) ?? null,
    stoppedBy: (row.stopped_by as string | null) ?? null,
    stopReason: (row.stop_reason as string | null) ?? null,
    endedAt: date(row.ended_at),
  });
}

@Injectable()
export class TunnelRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditRepository,
  ) {}

  findById(id: string): Promise<TunnelEntity | null> {
    return this.dataSource.getRepository(TunnelEntity).findOneBy({ id });
  }

  findByTokenHash(deviceTokenHash: string): Promise<TunnelEntity | null> {
    return this.dataSource.getRepository(TunnelEntity).findOneBy({ deviceTokenHash });
  }

  /** The stored state rank only: the cheap re-read behind long-polls. */
  async stateOf(id: string): Promise<number | null> {
    const rows = await queryRows<{ state: number }>(
      this.dataSource.manager,
      `SELECT "state" FROM "tunnels" WHERE "id" = $1`,
      [id],
    );
    return rows[0] ? Number(rows[0].state) : null;
  }

  list(stateRank: number | null, limit = 500): Promise<TunnelEntity[]> {
    return this.dataSource.getRepository(TunnelEntity).find({
      where: stateRank === null ? {} : { state: stateRank },
      order: { createdAt: "DESC" },
      take: limit,
    });
  }

  async countByState(): Promise<{ state: number; count: number }[]> {
    const rows = await queryRows<{ state: number; count: number }>(
      this.dataSource.manager,
      `SELECT "state", count(*)::int AS "count" FROM "tunnels" GROUP BY "state"`,
    );
    return rows.map((r) => ({ state: Number(r.state), count: Number(r.count) }));
  }

  async insert(tunnel: TunnelEntity, audit: NewAuditEntry): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.insert(TunnelEntity, tunnel);
      await this.audit.append(manager, audit);
    });
  }

  /** pending → started, only while not expired. Null when the precondition failed. */
  approve(
    id: string,
    now: Date,
    server: ServerFields,
    approvedBy: string,
    audit: NewAuditEntry,
  ): Promise<TunnelEntity | null> {
    return this.transition(
      `UPDATE "tunnels" SET "state" = ${RANK.started}, "updated_at" = $2,
         "server_instance_id" = $3, "server_provider" = $4, "server_public_ip" = $5,
         "server_wg_port" = $6, "server_wg_public_key" = $7, "approval" = $8, "approved_by" = $9
       WHERE "id" = $1 AND "state" = ${RANK.pending} AND "expires_at" > $2
       RETURNING *`,
      [
        id,
        now,
        server.instanceId,
        server.provider,
        server.publicIp,
        server.wgPort,
        server.wgPublicKey,
        server.approval,
        approvedBy,
      ],
      () => audit,
    );
  }

  /** started → running, only while not expired. */
  markRunning(
    id: string,
    now: Date,
    supportUser: string,
    audit: NewAuditEntry,
  ): Promise<TunnelEntity | null> {
    return this.transition(
      `UPDATE "tunnels" SET "state" = ${RANK.running}, "updated_at" = $2, "support_user" = $3
       WHERE "id" = $1 AND "state" = ${RANK.started} AND "expires_at" > $2
       RETURNING *`,
      [id, now, supportUser],
      () => audit,
    );
  }

  /**
   * Ends a live tunnel: completed, stopped by `stoppedBy` — or timed out by
   * expiry when its time had already run out. Null when it had already ended.
   */
  stop(
    id: string,
    now: Date,
    stoppedBy: string,
    reason: string | null,
    audit: (ended: TunnelEntity) => NewAuditEntry,
  ): Promise<TunnelEntity | null> {
    return this.transition(
      `UPDATE "tunnels" SET
         "state" = CASE WHEN "expires_at" <= $2 THEN ${RANK.timedout} ELSE ${RANK.completed} END,
         "stopped_by" = CASE WHEN "expires_at" <= $2 THEN 'expiry' ELSE $3 END,
         "stop_reason" = CASE WHEN "expires_at" <= $2 THEN 'expired' ELSE $4 END,
         "updated_at" = $2, "ended_at" = $2
       WHERE "id" = $1 AND "state" < ${RANK.completed}
       RETURNING *`,
      [id, now, stoppedBy, reason],
      audit,
    );
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
    return this.dataSource.transaction(async (manager) => {
      const rows = await queryRows(
        manager,
        `UPDATE "tunnels" SET "state" = ${RANK.timedout}, "stopped_by" = 'expiry',
           "stop_reason" = 'expired', "updated_at" = $1, "ended_at" = $1
         WHERE "id" IN (
           SELECT "id" FROM "tunnels"
           WHERE "expires_at" <= $1 AND "state" < ${RANK.completed}
           ORDER BY "expires_at" LIMIT 500
           FOR UPDATE SKIP LOCKED)
         AND "state" < ${RANK.completed}
         RETURNING *`,
        [now],
      );
      const ended = rows.map(toEntity);
      for (const tunnel of ended) await this.audit.append(manager, audit(tunnel));
      return ended;
    });
  }

  private async transition(
    sql: string,
    params: unknown[],
    audit: (changed: TunnelEntity) => NewAuditEntry,
  ): Promise<TunnelEntity | null> {
    return this.dataSource.transaction(async (manager: EntityManager) => {
      const rows = await queryRows(manager, sql, params);
      if (!rows[0]) return null;
      const changed = toEntity(rows[0]);
      await this.audit.append(manager, audit(changed));
      return changed;
    });
  }
}
