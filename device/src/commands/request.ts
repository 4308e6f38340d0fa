// `support-device request`: ask for support; with --wait, stay until it is connected.
import type { CommandContext } from "../context";
import { NotReadyError } from "../errors";
import { effectiveExpiry } from "../record";

export interface RequestOptions {
  description?: string;
  ttlSeconds?: number;
  wait?: boolean;
}

/** Registers a tunnel request and prints what the customer sends to support. */
export async function request(ctx: CommandContext, options: RequestOptions): Promise<void> {
  const record = await ctx.lifecycle.request({
    description: options.description,
    ttlSeconds: options.ttlSeconds,
  });
  const expiresAt = effectiveExpiry(record);
  ctx.printer.data(
    { tunnelId: record.tunnelId, presharedKey: record.presharedKey, expiresAt },
    () =>
      [
        `tunnel id: ${record.tunnelId}`,
        `preshared key: ${record.presharedKey}`,
        `expires at: ${expiresAt}`,
      ].join("\n"),
  );
  ctx.printer.info(
    "Send the tunnel id and the preshared key to support. Nothing is open until support approves and this device connects.",
  );
  if (!options.wait) return;
  ctx.printer.info(
    "Waiting for support to approve (Ctrl-C to stop waiting; the request stays open)...",
  );
  const outcome = await ctx.agent.watch(record.tunnelId, ctx.signal, { untilUp: true });
  if (outcome === "ended")
    throw new NotReadyError(`tunnel ${record.tunnelId} ended before it was connected`);
  if (outcome === "aborted") return;
  const status = await ctx.upkeep.status(record.tunnelId);
  ctx.printer.info(`connected: support user ${status.supportUser} on ${status.interface}`);
}
