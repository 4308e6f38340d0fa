// The append-only audit log. Entries are written in the same transaction as the
// change they record, so a change without its audit row can't exist.
import { randomUUID } from "node:crypto";
import { Injectable } from "@nestjs/common";
import { DataSource, type EntityManager } from "typeorm";
import { AuditEntryEntity } from "../entities/audit-entry.entity";

export interface NewAuditEntry {
  tunnelId: string | null;
  actor: string;
  action: string;
  detail?: string | null;
  clientAddress: string | null;
  at: Date;
}

@Injectable()
export class AuditRepository {
  constructor(private readonly dataSource: DataSource) {}

  async append(manager: EntityManager, entry: NewAuditEntry): Promise<void> {
    await manager.insert(AuditEntryEntity, {
      id: randomUUID(),
      tunnelId: entry.tunnelId,
      actor: entry.actor,
      action: entry.action,
      detail: entry.detail ?? null,
      clientAddress: entry.clientAddress,
      at: entry.at,
    });
  }

  listForTunnel(tunnelId: string): Promise<AuditEntryEntity[]> {
    return this.dataSource
      .getRepository(AuditEntryEntity)
      .createQueryBuilder("a")
      .where("a.tunnel_id = :tunnelId", { tunnelId })
      .orderBy("a.seq", "ASC")
      .getMany();
  }
}
