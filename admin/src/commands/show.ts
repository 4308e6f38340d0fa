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

/** Who of support is in a session on the device right now, as it reported. */
export function whoIsIn(t: TunnelView): string[] {
  const open = t.sessions.filter((s) => s.endedAt === null);
  return [...new Set(open.map((s) => s.engineer ?? "(unnamed)"))];
}

/** One session as the device reported it: who, when, how it ended; never what was done. */
function sessionLine(s: TunnelView["sessions"][number]): string {
  const end =
    s.endedAt === null
      ? "still open"
      : `to ${s.endedAt}, ${s.exitCode === null ? "no exit code" : `exit ${s.exitCode}`}`;
  return `${s.engineer ?? "(unnamed)"} from ${s.startedAt} ${end} [${s.session}]`;
}

export function renderTunnel(t: TunnelView, now: number = Date.now()): string {
  const when = (iso: string | null) => (iso ? isoWithRelative(iso, now) : null);
  const inNow = whoIsIn(t);
  const rows: [string, string | null][] = [
    ["tunnel", t.tunnelId],
    ["code", tunnelCode(t.tunnelId)],
    ["state", t.state],
    ["customer", t.customer ?? "-"],
    ["hostname", t.hostname],
    ["description", t.description],
    ["ticket", t.ticket],
    ["opens", when(t.notBefore)],
    ["engineers", t.allowedEngineers ? `only ${t.allowedEngineers.join(", ")}` : null],
    ["ports", t.allowedPorts.length ? `${t.allowedPorts.join(", ")} (support forward)` : null],
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
    ["in now", inNow.length ? inNow.join(", ") : null],
    [
      "stopped by",
      t.stoppedBy ? `${t.stoppedBy}${t.stopReason ? ` (${t.stopReason})` : ""}` : null,
    ],
    ["ended", when(t.endedAt)],
  ];
  const lines = rows
    .filter(([, v]) => v !== null && v !== "")
    .map(([k, v]) => `${(k + ":").padEnd(14)}${v}`);
  if (t.sessions.length > 0)
    lines.push("sessions:", ...t.sessions.map((s) => `  ${sessionLine(s)}`));
  return lines.join("\n");
}
