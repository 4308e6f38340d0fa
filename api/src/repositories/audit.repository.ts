// The append-only audit log. Entries are written in the same transaction as the
// change they record, so a change without its audit row can't exist.
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
}

@Injectable()
export class AuditRepository {
  constructor(
    @InjectRepository(AuditEntryEntity) private readonly entries: Repository<AuditEntryEntity>,
  ) {}

  /** Appends inside the caller's transaction. */
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
    return this.entries.find({ where: { tunnelId }, order: { seq: "ASC" } });
  }
}
