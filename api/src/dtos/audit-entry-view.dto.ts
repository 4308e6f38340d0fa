// The wire view of an audit entry, the same in a tunnel's trail and in the whole log.
import type { AuditEntry, TunnelId } from "@support-tunnel/common";
import type { AuditEntryEntity } from "../entities/audit-entry.entity";

export function toAuditEntryView(e: AuditEntryEntity): AuditEntry {
  return {
    id: e.id,
    tunnelId: e.tunnelId as TunnelId | null,
    actor: e.actor,
    action: e.action,
    detail: e.detail,
    clientAddress: e.clientAddress,
    at: e.at.toISOString(),
  };
}
