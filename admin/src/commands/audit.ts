// `support audit <id>`: the append-only log of who did what to a tunnel.
import { renderTable, type AuditEntry } from "@support-tunnel/common";
import type { Context } from "../context";
import { resolveTunnelId } from "../tunnel-id";

export interface AuditOptions {
  id: string;
  ctx: Context;
}

export async function audit({ id, ctx }: AuditOptions): Promise<AuditEntry[]> {
  const { entries } = await ctx.api().getAudit(await resolveTunnelId(id, () => ctx.api()));
  ctx.printer.data(entries, () =>
    renderTable(
      ["AT", "ACTOR", "ACTION", "FROM", "DETAIL"],
      entries.map((e) => [e.at, e.actor, e.action, e.clientAddress ?? "-", e.detail ?? ""]),
    ),
  );
  return entries;
}
