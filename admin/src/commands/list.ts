// `support list`: the tunnels the api knows, as a table.
import {
  renderTable,
  stateSchema,
  type TunnelState,
  type TunnelView,
} from "@support-tunnel/common";
import type { Context } from "../context";
import { CliError, ExitCode } from "../errors";

export async function list(ctx: Context, options: { state?: string }): Promise<TunnelView[]> {
  let state: TunnelState | undefined;
  if (options.state !== undefined) {
    const parsed = stateSchema.safeParse(options.state);
    if (!parsed.success)
      throw new CliError(`--state ${parsed.error.issues[0]?.message}`, ExitCode.Usage);
    state = parsed.data;
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
