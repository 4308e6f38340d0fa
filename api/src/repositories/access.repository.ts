// Who may see and take which tunnels, asked of the database: an engineer's live
// memberships in the groups serving a tunnel's customer. The approval locks the
// rows that grant it, and every removal ends, in its own transaction, the live
// tunnels whose approver lost access: whichever commits first, the other sees
// it, so no approval survives the access it was made with.
//
// Raw SQL here: these are joins over four tables with EXISTS and row locks of
// chosen tables (FOR SHARE OF), which TypeORM's find options cannot say.
import { Injectable } from "@nestjs/common";
import { InjectDataSource } from "@nestjs/typeorm";
import { StoppedBy, TunnelState, USING_ROLES, stateRank } from "@support-tunnel/common";
import { DataSource, type EntityManager } from "typeorm";
import { AuditRepository, type NewAuditEntry } from "./audit.repository";
import { TUNNEL_CHANGED_CHANNEL, tunnelChangePayload } from "../database/tunnel-change-feed";

const STARTED = stateRank(TunnelState.Started);
const COMPLETED = stateRank(TunnelState.Completed);
/** The end reason of a tunnel stopped because its approver lost access. */
export const ACCESS_REMOVED = "access-removed";

const USING = USING_ROLES.map((r) => `'${r}'`).join(", ");

/** The memberships (live at :now) of engineer :name in groups serving customer :customer. */
function usingMembershipsSql(name: string, customer: string, now: string): string {
  return `
    SELECT m."group_id" FROM "group_members" m
      JOIN "engineers" e ON e."id" = m."engineer_id"
      JOIN "group_customers" gc ON gc."group_id" = m."group_id"
    WHERE e."name" = ${name} AND gc."customer_id" = ${customer}
      AND m."role" IN (${USING})
      AND (m."expires_at" IS NULL OR m."expires_at" > ${now})`;
}

export interface CutTunnel {
  id: string;
  approvedBy: string;
}

/** Which live tunnels a removal looks at: those of one approver, of one customer, or both. */
export interface CutScope {
  approvedBy?: string;
  customerId?: string;
}

@Injectable()
export class AccessRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditRepository,
  ) {}

  /** Customers served by a group the engineer is in (any live role): whose tunnels they see. */
  async visibleCustomerIds(engineer: string, now: Date): Promise<string[]> {
    const rows: { customer_id: string }[] = await this.dataSource.query(
      `SELECT DISTINCT gc."customer_id" FROM "group_customers" gc
         JOIN "group_members" m ON m."group_id" = gc."group_id"
         JOIN "engineers" e ON e."id" = m."engineer_id"
       WHERE e."name" = $1 AND (m."expires_at" IS NULL OR m."expires_at" > $2)`,
      [engineer, now],
    );
    return rows.map((r) => r.customer_id);
  }

  /** True if the engineer holds a live owner, member or guest role in a group serving the customer. */
  async mayUse(engineer: string, customerId: string, now: Date): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `${usingMembershipsSql("$1", "$2", "$3")} LIMIT 1`,
      [engineer, customerId, now],
    );
    return rows.length > 0;
  }

  /**
   * Inside the approving transaction: true if the engineer still exists and
   * (for a customer's tunnel) holds a using role for it, with those rows locked
   * FOR SHARE until the approval commits. A removal, an expiry sweep or a
   * revocation deleting them waits for the commit and then ends the tunnel; one
   * that committed first has deleted them, and this finds none.
   */
  async lockForApproval(
    manager: EntityManager,
    engineer: string,
    customerId: string | null,
    now: Date,
  ): Promise<boolean> {
    const found: unknown[] = await manager.query(
      `SELECT "id" FROM "engineers" WHERE "name" = $1 FOR SHARE`,
      [engineer],
    );
    if (found.length === 0) return false;
    if (customerId === null) return true;
    const rows: unknown[] = await manager.query(
      `${usingMembershipsSql("$1", "$2", "$3")} FOR SHARE OF m, gc`,
      [engineer, customerId, now],
    );
    return rows.length > 0;
  }

  /**
   * Ends every live tunnel in `scope` whose approver no longer has access to it
   * (a customer's tunnel: no live using role; a tunnel of no customer: the
   * engineer is gone), with the end reason `access-removed`, each audited.
   */
  async cutLostAccess(
    manager: EntityManager,
    now: Date,
    scope: CutScope,
    stoppedBy: StoppedBy,
    audit: (cut: CutTunnel) => NewAuditEntry,
  ): Promise<CutTunnel[]> {
    const params: unknown[] = [COMPLETED, STARTED, now, stoppedBy, ACCESS_REMOVED];
    const where: string[] = [];
    if (scope.approvedBy !== undefined) {
      params.push(scope.approvedBy);
      where.push(`AND t."approved_by" = $${params.length}`);
    }
    if (scope.customerId !== undefined) {
      params.push(scope.customerId);
      where.push(`AND t."customer_id" = $${params.length}`);
    }
    // A CTE so both drivers answer with the rows (a bare UPDATE … RETURNING comes back as [rows, count]).
    const rows: { id: string; approved_by: string }[] = await manager.query(
      `WITH cut AS (
         UPDATE "tunnels" t SET "state" = $1, "stopped_by" = $4, "stop_reason" = $5,
           "updated_at" = $3, "ended_at" = $3
         WHERE t."state" >= $2 AND t."state" < $1 AND t."expires_at" > $3
           AND t."approved_by" IS NOT NULL ${where.join(" ")}
           AND NOT (
             (t."customer_id" IS NULL
               AND EXISTS (SELECT 1 FROM "engineers" e WHERE e."name" = t."approved_by"))
             OR EXISTS (${usingMembershipsSql(`t."approved_by"`, `t."customer_id"`, "$3")}))
         RETURNING t."id", t."approved_by")
       SELECT "id", "approved_by" FROM cut ORDER BY "id"`,
      params,
    );
    const cut = rows.map((r) => ({ id: r.id, approvedBy: r.approved_by }));
    // Wakes the ended tunnels' long-polls on every replica once this transaction
    // commits, and never if it rolls back.
    if (cut.length)
      await manager.query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload", [
        TUNNEL_CHANGED_CHANNEL,
        cut.map((t) => tunnelChangePayload(t.id, COMPLETED)),
      ]);
    for (const tunnel of cut) await this.audit.append(manager, audit(tunnel));
    return cut;
  }

  /** Appends an audit row inside the caller's transaction (the sweep's expiries). */
  appendAudit(manager: EntityManager, entry: NewAuditEntry): Promise<void> {
    return this.audit.append(manager, entry);
  }
}
