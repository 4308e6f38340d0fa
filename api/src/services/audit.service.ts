// The whole audit log for admins: tunnel events and organization events
// (engineers, customers, groups, memberships) in one list, a page at a time.
import { Injectable } from "@nestjs/common";
import {
  DEFAULT_AUDIT_PAGE,
  encodeAuditCursor,
  type AuditCursor,
  type AuditPage,
  type TunnelId,
} from "@support-tunnel/common";
import { toAuditEntryView } from "../dtos/audit-entry-view.dto";
import { AuditRepository } from "../repositories/audit.repository";

export interface AuditPageQuery {
  cursor?: AuditCursor;
  limit?: number;
  /** Only what this engineer did (entries whose actor is `engineer:<name>`). */
  engineer?: string;
  tunnel?: TunnelId;
  /** An action, or a family of them (`engineer`). */
  action?: string;
}

@Injectable()
export class AuditService {
  constructor(private readonly audit: AuditRepository) {}

  /** Newest first; `nextCursor` leads to the older entries. Admins only (see the route). */
  async page(query: AuditPageQuery): Promise<AuditPage> {
    const limit = query.limit ?? DEFAULT_AUDIT_PAGE;
    // One more than the page tells whether another page follows, without a count.
    const found = await this.audit.list({
      actor: query.engineer === undefined ? undefined : `engineer:${query.engineer}`,
      tunnelId: query.tunnel,
      action: query.action,
      after: query.cursor ?? null,
      limit: limit + 1,
    });
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    return {
      entries: page.map(toAuditEntryView),
      nextCursor:
        found.length > limit && last ? encodeAuditCursor({ at: last.at, seq: last.seq }) : null,
    };
  }
}
