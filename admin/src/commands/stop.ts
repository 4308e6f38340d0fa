// `support stop <id>`: ends the tunnel in the api, then destroys its server and
// forgets the local record. Safe to run again on a tunnel that is already over.
import {
  ApiError,
  isTerminal,
  type ProviderName,
  type SupportApiClient,
  type TunnelId,
  type TunnelView,
  type Printer,
} from "@support-tunnel/common";
import type { Context } from "../context";
import { closeFirstHop } from "../first-hop";
import { removeStockSshFiles } from "../stock-ssh";
import type { TunnelServerProvider } from "../providers/provider";
import { checkProviderFlags } from "../config";
import { providersFor, type ProviderFlags } from "../providers/registry";
import type { ServerRecord, ServerRecordStore } from "../server-records";
import { parseTunnelId, resolveTunnelId } from "../tunnel-id";

export interface StopOptions extends Pick<ProviderFlags, "lab" | "identity"> {
  id: string;
  /** Why, for the audit log. */
  reason?: string;
  ctx: Context;
}

export async function stop(options: StopOptions): Promise<StopResult> {
  const { ctx } = options;
  checkProviderFlags(options);
  const tunnelId = await resolveTunnelId(options.id, () => ctx.api());
  const api = ctx.api();
  const providerFor = await providersFor(ctx.config, ctx.env.raw, options);
  return endTunnel(
    tunnelId,
    { reason: options.reason },
    {
      api,
      records: ctx.records(),
      providerFor,
      printer: ctx.printer,
      // With it go the files stock ssh used (ssh-config): nothing stale stays.
      closeFirstHop: async (record) => {
        await closeFirstHop(ctx.config.dir, record);
        await removeStockSshFiles(ctx.config.dir, record.tunnelId);
      },
    },
  );
}

export interface StopDeps {
  api: Pick<SupportApiClient, "getTunnel" | "stopTunnel">;
  records: ServerRecordStore;
  providerFor: (name: ProviderName) => TunnelServerProvider;
  printer: Printer;
  /** Ends the connection to the server that commands share (first-hop.ts), if one is open. */
  closeFirstHop?: (record: ServerRecord) => Promise<void>;
}

export interface StopResult {
  tunnelId: TunnelId;
  state: string;
  destroyed: string | null;
}

/** Destroys the tunnel's server (from the local record, else the api's view) and drops the record. */
export async function destroyServerOf(
  tunnelId: TunnelId,
  view: TunnelView | null,
  deps: Pick<StopDeps, "records" | "providerFor" | "printer" | "closeFirstHop">,
): Promise<string | null> {
  const record = await deps.records.load(tunnelId);
  if (record) await deps.closeFirstHop?.(record).catch(() => undefined);
  const target = record
    ? { provider: record.server.provider, instanceId: record.server.instanceId }
    : view?.server
      ? { provider: view.server.provider, instanceId: view.server.instanceId }
      : null;
  if (!target) return null;
  const step = deps.printer.step(`destroying tunnel server ${target.instanceId}`);
  try {
    await deps.providerFor(target.provider).destroy({ instanceId: target.instanceId, tunnelId });
  } catch (err) {
    step.fail();
    throw err;
  }
  await deps.records.remove(tunnelId);
  step.done(`tunnel server ${target.instanceId} destroyed`);
  return target.instanceId;
}

/** Ends the tunnel in the api (if it is not over yet), then destroys its server. */
export async function endTunnel(
  id: string,
  options: { reason?: string },
  deps: StopDeps,
): Promise<StopResult> {
  const tunnelId = parseTunnelId(id);
  let view: TunnelView;
  try {
    view = await deps.api.stopTunnel(tunnelId, options.reason ?? "stopped by the engineer");
  } catch (err) {
    // Already over (e.g. the customer revoked it): still clean up the server.
    if (!(err instanceof ApiError && err.status === 409)) throw err;
    view = await deps.api.getTunnel(tunnelId);
    if (!isTerminal(view.state)) throw err;
  }
  deps.printer.info(`tunnel ${tunnelId} is ${view.state}`);
  const destroyed = await destroyServerOf(tunnelId, view, deps);
  const result = { tunnelId, state: view.state, destroyed };
  deps.printer.data(
    result,
    () =>
      `tunnel ${tunnelId} ${view.state}${destroyed ? `; server ${destroyed} destroyed` : "; no server to destroy"}`,
  );
  return result;
}
