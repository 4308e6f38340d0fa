// `support-device agent`: the long-running agent, until SIGTERM/SIGINT; with
// --ui it also serves the consent page.
import type { CommandContext } from "../context";
import { UsageError } from "../errors";

export interface AgentCommandOptions {
  /** Serve the consent page too. */
  ui?: boolean;
  listen?: string;
}

/**
 * Runs until SIGTERM/SIGINT. Tunnels that are up stay up when the agent stops:
 * the customer consented to them; `stop --all` is the kill switch.
 */
export async function agent(ctx: CommandContext, options: AgentCommandOptions = {}): Promise<void> {
  if (options.listen !== undefined && !options.ui) throw new UsageError("--listen needs --ui");
  // The agent watches every tunnel it finds in the state dir, so one asked for on the page needs nothing more.
  // Loaded only with --ui: an agent without the page does not carry it in memory.
  const page = options.ui
    ? await (
        await import("../ui/serve-consent-page.js")
      ).serveConsentPage(ctx, {
        listen: options.listen,
      })
    : null;
  ctx.printer.info(`support-device agent watching ${ctx.settings.stateDir}`);
  try {
    await ctx.agent.run(ctx.signal);
  } finally {
    await page?.close();
  }
  ctx.printer.info(
    "support-device agent stopped; tunnels that are up stay up (stop them with `support-device stop --all`)",
  );
}
