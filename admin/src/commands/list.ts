// `support list`: the tunnels the api knows, as a table.
import {
  ENTERED_STATES,
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
  ctx: Context;
}

export async function list({ state: filter, ctx }: ListOptions): Promise<TunnelView[]> {
  let state: TunnelState | undefined;
  if (filter !== undefined) {
    const parsed = stateSchema.safeParse(filter);
    if (!parsed.success || !ENTERED_STATES.includes(parsed.data))
      throw new CliError(`--state must be one of ${ENTERED_STATES.join(", ")}`, ExitCode.Usage);
    state = parsed.data;
  }
  const { tunnels } = await ctx.api().listTunnels(state);
  ctx.printer.data(tunnels, () =>
    tunnels.length === 0
      ? "no tunnels"
      : renderTable(
          [
            "ID",
            "STATE",
            "IN NOW",
            "HOSTNAME",
            "TICKET",
            "ENGINEERS",
            "SERVER",
            "OPENS",
            "EXPIRES",
            "DESCRIPTION",
          ],
          tunnels.map((t) => [
            t.tunnelId,
            t.state,
            whoIsIn(t).join(",") || "-",
            t.hostname ?? "-",
            t.ticket ?? "-",
            t.allowedEngineers?.join(",") ?? "any",
            t.server ? `${t.server.provider}:${t.server.publicIp}` : "-",
            t.notBefore ?? "-",
            t.expiresAt,
            t.description ?? "",
          ]),
        ),
  );
  return tunnels;
}
