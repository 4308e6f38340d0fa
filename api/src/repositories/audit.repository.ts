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
}
