// `support show <id>`: one tunnel in detail.
import { isoWithRelative, tunnelCode, type TunnelView } from "@support-tunnel/common";
import type { Context } from "../context";
import { resolveTunnelId } from "../tunnel-id";

export interface ShowOptions {
  id: string;
  ctx: Context;
}

export async function show({ id, ctx }: ShowOptions): Promise<TunnelView> {
  const tunnel = await ctx.api().getTunnel(await resolveTunnelId(id, () => ctx.api()));
  ctx.printer.data(tunnel, () => renderTunnel(tunnel));
  return tunnel;
}

export function renderTunnel(t: TunnelView, now: number = Date.now()): string {
  const when = (iso: string | null) => (iso ? isoWithRelative(iso, now) : null);
  const rows: [string, string | null][] = [
    ["tunnel", t.tunnelId],
    ["code", tunnelCode(t.tunnelId)],
    ["state", t.state],
    ["hostname", t.hostname],
    ["description", t.description],
    ["ticket", t.ticket],
    ["opens", when(t.notBefore)],
    ["engineers", t.allowedEngineers ? `only ${t.allowedEngineers.join(", ")}` : null],
    ["network", t.network],
    ["created", when(t.createdAt)],
    ["expires", when(t.expiresAt)],
    [
      "server",
      t.server
        ? `${t.server.provider} ${t.server.instanceId} ${t.server.publicIp}:${t.server.wgPort}`
        : null,
    ],
    ["support user", t.supportUser],
    ["approved by", t.approvedBy],
    [
      "stopped by",
      t.stoppedBy ? `${t.stoppedBy}${t.stopReason ? ` (${t.stopReason})` : ""}` : null,
    ],
    ["ended", when(t.endedAt)],
  ];
  return rows
    .filter(([, v]) => v !== null && v !== "")
    .map(([k, v]) => `${(k + ":").padEnd(14)}${v}`)
    .join("\n");
}
