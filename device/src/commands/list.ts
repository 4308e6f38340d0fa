// `support-device list`: the tunnels this device knows, as a table.
import { renderTable } from "@support-tunnel/common";
import type { CommandContext } from "../context";
import { effectiveExpiry } from "../record";

/** Tunnels this device knows, from local state only (no api call). */
export async function list(ctx: CommandContext): Promise<void> {
  const records = await ctx.deps.store.list();
  const rows = records.map((r) => ({
    tunnelId: r.tunnelId,
    phase: r.phase,
    network: r.network,
    interface: r.interface,
    supportUser: r.supportUser,
    expiresAt: effectiveExpiry(r),
    ticket: r.ticket,
    notBefore: r.notBefore,
    allowedEngineers: r.allowedEngineers,
    approvedBy: r.approval?.engineer ?? null,
  }));
  ctx.printer.data({ tunnels: rows }, () =>
    rows.length === 0
      ? "no tunnels on this device"
      : renderTable(
          ["TUNNEL", "PHASE", "TICKET", "NETWORK", "INTERFACE", "USER", "EXPIRES"],
          rows.map((r) => [
            r.tunnelId,
            r.phase,
            r.ticket ?? "-",
            r.network,
            r.interface,
            r.supportUser,
            r.expiresAt,
          ]),
        ),
  );
}
