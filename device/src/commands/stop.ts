// `support-device stop`: the customer's kill switch, for one tunnel or all.
import type { CommandContext } from "../context";
import { UsageError } from "../errors";
import type { StopResult } from "../tunnel-lifecycle";

export interface StopOptions {
  /** One tunnel, or every tunnel with `all`: exactly one of the two. */
  id?: string;
  all?: boolean;
  reason?: string;
}

/** Removes a tunnel's user, interface and config and tells the api. Idempotent. */
export async function stop(ctx: CommandContext, options: StopOptions): Promise<void> {
  if (Boolean(options.all) === (options.id !== undefined))
    throw new UsageError("give a tunnel id or --all (not both)");
  const ids = options.all ? (await ctx.deps.store.list()).map((r) => r.tunnelId) : [options.id!];
  const results: StopResult[] = [];
  for (const id of ids) results.push(await ctx.lifecycle.stop(id, "device", options.reason));
  ctx.printer.data({ stopped: results }, () =>
    results.length === 0
      ? "no tunnels on this device"
      : results
          .map((r) =>
            !r.found
              ? `tunnel ${r.tunnelId}: nothing left on this device`
              : `tunnel ${r.tunnelId}: stopped${r.apiTold ? "" : " (the api could not be told)"}`,
          )
          .join("\n"),
  );
}
