// `support-device connect <id>`: verify the approval and bring the tunnel up.
import type { CommandContext } from "../context";

export interface ConnectOptions {
  id: string;
}

/** Verifies the approval of tunnel `id` and brings it up. */
export async function connect(ctx: CommandContext, options: ConnectOptions): Promise<void> {
  const result = await ctx.lifecycle.connect(options.id);
  ctx.printer.data(result, () =>
    [
      `tunnel ${result.tunnelId} ${result.alreadyUp ? "was already up" : "is up"}`,
      `support user: ${result.supportUser}`,
      `interface: ${result.interface} (${result.address}, server ${result.serverAddress})`,
      `expires at: ${result.expiresAt}`,
    ].join("\n"),
  );
}
