// `support-device status <id>`: one tunnel as this device and the api see it.
import { isoWithRelative, tunnelCode } from "@support-tunnel/common";
import type { CommandContext } from "../context";

function secondsAgo(ctx: CommandContext, iso: string): number {
  return Math.max(0, Math.round((ctx.deps.clock.now() - Date.parse(iso)) / 1000));
}

export interface StatusOptions {
  id: string;
}

/**
 * One tunnel: local phase, api state when reachable, interface and user presence,
 * and whether a tunnel that is up really carries anything (its interface, its
 * latest WireGuard handshake).
 */
export async function status(ctx: CommandContext, options: StatusOptions): Promise<void> {
  const s = await ctx.upkeep.status(options.id);
  const now = ctx.deps.clock.now();
  ctx.printer.data({ ...s, tunnelCode: tunnelCode(s.tunnelId) }, () =>
    [
      `tunnel: ${tunnelCode(s.tunnelId)} (${s.tunnelId})`,
      `phase: ${s.phase}${s.expired ? " (expired)" : ""}${s.linkDown ? ", but the tunnel is DOWN" : ""}`,
      ...(s.linkDown ? [`down: ${s.linkDown}`] : []),
      `api state: ${s.apiState ?? `unknown (${s.apiError ?? "unreachable"})`}`,
      `interface: ${s.interface} ${s.interfaceUp ? "up" : "absent"}${s.latestHandshakeAt ? `, last handshake ${s.latestHandshakeAt} (${secondsAgo(ctx, s.latestHandshakeAt)} s ago)` : ""}`,
      `support user: ${s.supportUser} ${s.userPresent ? "present" : "absent"}`,
      `network: ${s.network} (device ${s.address}, server ${s.serverAddress})`,
      `endpoint: ${s.endpoint ?? "-"}`,
      `ticket: ${s.ticket ?? "-"}`,
      `allowed engineers: ${s.allowedEngineers?.join(", ") ?? "any"}`,
      `allowed ports: ${s.allowedPorts.length ? s.allowedPorts.join(", ") : "none (SSH only)"}`,
      ...(s.notBefore ? [`opens at: ${isoWithRelative(s.notBefore, now)}`] : []),
      `approved by: ${s.approval ? `${s.approval.engineer}${s.approval.ticket ? ` for ticket ${s.approval.ticket}` : ""}` : "-"}`,
      `expires at: ${isoWithRelative(s.expiresAt, now)}${s.expiresAt === s.grantedUntil ? "" : ` (granted until ${s.grantedUntil})`}`,
    ].join("\n"),
  );
}
