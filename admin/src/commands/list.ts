// `support list`: the tunnels the api knows, as a table.
import {
  ENTERED_STATES,
  renderTable,
  type TunnelState,
  type TunnelView,
} from "@support-tunnel/common";
import type { Context } from "../context";
import { CliError, ExitCode } from "../errors";

export async function list(ctx: Context, options: { state?: string }): Promise<TunnelView[]> {
  let state: TunnelState | undefined;
  if (options.state !== undefined) {
    state = ENTERED_STATES.find((s) => s === options.state);
    if (!state)
      throw new CliError(`--state must be one of ${ENTERED_STATES.join(", ")}`, ExitCode.Usage);
  }
  const { tunnels } = await ctx.api().listTunnels(state);
  ctx.printer.data(tunnels, () =>
    tunnels.length === 0
      ? "no tunnels"
      : renderTable(
          ["ID", "STATE", "HOSTNAME", "SERVER", "EXPIRES", "DESCRIPTION"],
          tunnels.map((t) => [
            t.tunnelId,
            t.state,
            t.hostname ?? "-",
            t.server ? `${t.server.provider}:${t.server.publicIp}` : "-",
            t.expiresAt,
            t.description ?? "",
          ]),
        ),
  );
  return tunnels;
}
