// `support list`: the tunnels the api knows, as a table: the live ones unless
// --all, every page of them, newest first.
import {
  ENTERED_STATES,
  fitToWidth,
  humanDuration,
  relativeTime,
  renderTable,
  stateSchema,
  type TunnelState,
  type TunnelView,
} from "@support-tunnel/common";
import type { Context } from "../context";
import { CliError, ExitCode } from "../errors";
import { whoIsIn } from "./show";

export interface ListOptions {
  /** Only tunnels in this state. */
  state?: string;
  /** Every tunnel, ended ones too (default: only live ones, unless --state says otherwise). */
  all?: boolean;
  ctx: Context;
  now?: () => number;
}

export async function list({
  state: filter,
  all,
  ctx,
  now = Date.now,
}: ListOptions): Promise<TunnelView[]> {
  let state: TunnelState | undefined;
  if (filter !== undefined) {
    const parsed = stateSchema.safeParse(filter);
    if (!parsed.success || !ENTERED_STATES.includes(parsed.data))
      throw new CliError(`--state must be one of ${ENTERED_STATES.join(", ")}`, ExitCode.Usage);
    state = parsed.data;
  }
  // A state asked for by name is shown even when it is an ended one.
  const live = state === undefined && all !== true;
  const tunnels = await ctx.api().listAllTunnels({ state, live: live || undefined });
  const at = now();
  ctx.printer.data({ tunnels }, () =>
    tunnels.length === 0
      ? live
        ? "no live tunnels (--all shows ended ones too)"
        : "no tunnels"
      : fitToWidth(
          renderTable(
            [
              "ID",
              "STATE",
              "CUSTOMER",
              "IN NOW",
              "HOSTNAME",
              "TICKET",
              "ENGINEERS",
              "SERVER",
              "AGE",
              "OPENS",
              "ENDS",
              "DESCRIPTION",
            ],
            tunnels.map((t) => [
              t.tunnelId,
              t.state,
              t.customer ?? "-",
              whoIsIn(t).join(",") || "-",
              t.hostname ?? "-",
              t.ticket ?? "-",
              t.allowedEngineers?.join(",") ?? "any",
              t.server ? `${t.server.provider}:${t.server.publicIp}` : "-",
              humanDuration(at - Date.parse(t.createdAt)),
              t.notBefore ? relativeTime(t.notBefore, at) : "-",
              relativeTime(t.endedAt ?? t.expiresAt, at),
              t.description ?? "",
            ]),
          ),
          ctx.terminalColumns,
        ),
  );
  return tunnels;
}
