// The append-only audit log. Entries are written in the same transaction as the
// change they record, so a change without its audit row can't exist; being the
// last statement before the commit, the append is also where a change whose
// client has gone is rolled back.
import { randomUUID } from "node:crypto";
import { Injectable } from "@nestjs/common";
import { InjectRepository } from "@nestjs/typeorm";
import type { EntityManager, Repository } from "typeorm";
import { AuditEntryEntity } from "../entities/audit-entry.entity";

export interface NewAuditEntry {
  tunnelId: string | null;
  actor: string;
  action: string;
  detail?: string | null;
  clientAddress: string | null;
  at: Date;
  /**
   * The request's signal, aborted when the client that asked for the change has
   * gone: its answer could not be given, so the change is rolled back rather
   * than made behind its back (a 400 for the connection, but the tunnel stopped).
   */
  clientGone?: AbortSignal;
}

export interface AuditListQuery {
  /** As recorded: `engineer:<name>`, `device`, `system` or `cli`. */
  actor?: string;
  tunnelId?: string;
  /** An action, or a family: `engineer` matches `engineer.create`, `engineer.revoke`… */
  action?: string;
  after: { at: Date; seq: string } | null;
  limit: number;
}

@Injectable()
export class AuditRepository {
  constructor(
    @InjectRepository(AuditEntryEntity) private readonly entries: Repository<AuditEntryEntity>,
  ) {}

  /** Appends inside the caller's transaction; throws (rolling it back) if the client has gone. */
  async append(manager: EntityManager, entry: NewAuditEntry): Promise<void> {
    entry.clientGone?.throwIfAborted();
    await manager.insert(AuditEntryEntity, {
      id: randomUUID(),
      tunnelId: entry.tunnelId,
      actor: entry.actor,
      action: entry.action,
      detail: entry.detail ?? null,
      clientAddress: entry.clientAddress,
      at: entry.at,
    });
    // Once more after the round trip: the client may have gone while it ran.
    entry.clientGone?.throwIfAborted();
  }

  listForTunnel(tunnelId: string): Promise<AuditEntryEntity[]> {
    return this.entries.find({ where: { tunnelId }, order: { seq: "ASC" } });
  }

  /**
   * The whole log, newest first, ordered by (at, seq) so a page ends at a
   * definite entry and the next starts right after it (keyset paging, as the
   * tunnels' list: nothing is skipped or shown twice while entries are added).
   * `seq` is read too: it is the cursor's second half.
   */
  list(query: AuditListQuery): Promise<AuditEntryEntity[]> {
    const q = this.entries.createQueryBuilder("a").addSelect("a.seq");
    if (query.actor !== undefined) q.andWhere("a.actor = :actor", { actor: query.actor });
    if (query.tunnelId !== undefined)
      q.andWhere("a.tunnel_id = :tunnelId", { tunnelId: query.tunnelId });
    if (query.action !== undefined)
      q.andWhere("(a.action = :action OR starts_with(a.action, :family))", {
        action: query.action,
        family: `${query.action}.`,
      });
    if (query.after)
      q.andWhere("(a.at, a.seq) < (:afterAt, CAST(:afterSeq AS bigint))", {
        afterAt: query.after.at,
        afterSeq: query.after.seq,
      });
    return q.orderBy("a.at", "DESC").addOrderBy("a.seq", "DESC").take(query.limit).getMany();
  }
}
