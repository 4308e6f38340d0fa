// `support-device request`: ask for support; with --wait, stay until it is connected.
import { isoWithRelative, presharedKeyCode, tunnelCode } from "@support-tunnel/common";
import type { CommandContext } from "../context";
import { NotReadyError } from "../errors";
import { effectiveExpiry } from "../record";
import { parseStartTime } from "../start-time";

export interface RequestOptions {
  description?: string;
  ttlSeconds?: number;
  /** When access opens, as typed (`--start`): read by this device's clock. */
  start?: string;
  ticket?: string;
  allowedEngineers?: string[];
  /** Device ports support may forward (`--allow-port`), besides SSH. */
  allowedPorts?: number[];
  wait?: boolean;
}

/** Registers a tunnel request and prints what the customer sends to support. */
export async function request(ctx: CommandContext, options: RequestOptions): Promise<void> {
  const notBefore =
    options.start === undefined ? undefined : parseStartTime(options.start, ctx.deps.clock.now());
  const record = await ctx.lifecycle.request({
    description: options.description,
    ttlSeconds: options.ttlSeconds,
    notBefore,
    ticket: options.ticket,
    allowedEngineers: options.allowedEngineers,
    allowedPorts: options.allowedPorts,
  });
  const expiresAt = effectiveExpiry(record);
  const now = ctx.deps.clock.now();
  ctx.printer.data(
    {
      tunnelId: record.tunnelId,
      presharedKey: record.presharedKey,
      // The forms to read out on the phone (support accepts both forms).
      tunnelCode: tunnelCode(record.tunnelId),
      presharedKeyCode: presharedKeyCode(record.presharedKey),
      expiresAt,
      notBefore: record.notBefore,
      ticket: record.ticket,
      allowedEngineers: record.allowedEngineers,
      allowedPorts: record.allowedPorts,
    },
    () =>
      [
        `tunnel id: ${tunnelCode(record.tunnelId)}`,
        `preshared key: ${presharedKeyCode(record.presharedKey)}`,
        ...(record.ticket ? [`ticket: ${record.ticket}`] : []),
        ...(record.notBefore ? [`opens at: ${isoWithRelative(record.notBefore, now)}`] : []),
        `expires at: ${isoWithRelative(expiresAt, now)}`,
        ...(record.allowedEngineers
          ? [`only these engineers may take it: ${record.allowedEngineers.join(", ")}`]
          : []),
        ...(record.allowedPorts.length
          ? [`support may forward these device ports: ${record.allowedPorts.join(", ")}`]
          : []),
      ].join("\n"),
  );
  ctx.printer.info(
    "Send the tunnel id and the preshared key to support, or read them out (letters and digits, in any case; the last symbol of each is a check). Nothing is open until support approves and this device connects.",
  );
  if (record.notBefore) {
    ctx.printer.info(`This device connects nothing before ${record.notBefore}, even if approved.`);
  }
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
