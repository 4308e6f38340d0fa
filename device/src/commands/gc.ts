// `support-device gc`: end what expired or ended, remove what no tunnel owns.
import type { CommandContext } from "../context";

/** Ends expired or ended tunnels and removes interfaces, users and sudoers files no tunnel owns. */
export async function gc(ctx: CommandContext): Promise<void> {
  const result = await ctx.upkeep.gc();
  ctx.printer.data(result, () =>
    [
      `stopped tunnels: ${result.stopped.join(", ") || "none"}`,
      `removed interfaces: ${result.removedInterfaces.join(", ") || "none"}`,
      `removed users: ${result.removedUsers.join(", ") || "none"}`,
      `removed records past their retention: ${result.prunedRecords.join(", ") || "none"}`,
    ].join("\n"),
  );
}
