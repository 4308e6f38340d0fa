// `support-device agent`: the long-running agent, until SIGTERM/SIGINT.
import type { CommandContext } from "../context";

/**
 * Runs until SIGTERM/SIGINT. Tunnels that are up stay up when the agent stops:
 * the customer consented to them; `stop --all` is the kill switch.
 */
export async function agent(ctx: CommandContext): Promise<void> {
  ctx.printer.info(`support-device agent watching ${ctx.settings.stateDir}`);
  await ctx.agent.run(ctx.signal);
  ctx.printer.info(
    "support-device agent stopped; tunnels that are up stay up (stop them with `support-device stop --all`)",
  );
}
