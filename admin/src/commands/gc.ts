// `support gc`: stops tunnels that expired and destroys every server whose tunnel
// is over: those recorded on this machine and orphans the providers still list.
import {
  ApiError,
  isTerminal,
  type ProviderName,
  type TunnelId,
  type TunnelView,
} from "@support-tunnel/common";
import { checkProviderFlags } from "../config";
import type { Context } from "../context";
import { closeFirstHop } from "../first-hop";
import { removeStockSshFiles } from "../stock-ssh";
import { ExitCode, ExitWith } from "../errors";
import type { TunnelServerProvider } from "../providers/provider";
import { providersFor, type ProviderFlags } from "../providers/registry";
import { destroyServerOf, type StopDeps } from "./stop";

export interface GcOptions extends ProviderFlags {
  ctx: Context;
}

/** Also searches the lab and the ssh host given (or configured) for orphan servers. */
export async function gc(options: GcOptions): Promise<GcResult> {
  const { ctx } = options;
  checkProviderFlags(options);
  const api = ctx.api();
  const providerFor = await providersFor(ctx.config, ctx.env.raw, options);
  const listable: TunnelServerProvider[] = [];
  if (options.lab ?? ctx.config.lab) listable.push(providerFor("netns"));
  if (options.host ?? ctx.config.file?.ssh?.host) listable.push(providerFor("ssh"));
  const result = await collectGarbage({
    api,
    records: ctx.records(),
    providerFor,
    printer: ctx.printer,
    listable,
    // With it go the files stock ssh used (ssh-config): nothing stale stays.
    closeFirstHop: async (record) => {
      await closeFirstHop(ctx.config.dir, record);
      await removeStockSshFiles(ctx.config.dir, record.tunnelId);
    },
  });
  if (result.errors.length > 0) throw new ExitWith(ExitCode.Failure);
  return result;
}

export interface GcDeps extends StopDeps {
  /** Providers whose `list()` is searched for orphans (those configured on this machine). */
  listable: TunnelServerProvider[];
  now?: () => number;
}

export interface GcResult {
  stopped: TunnelId[];
  destroyed: string[];
  kept: TunnelId[];
  errors: string[];
}

/** Stops expired tunnels and destroys the servers of those that are over. */
export async function collectGarbage(deps: GcDeps): Promise<GcResult> {
  const now = deps.now ?? Date.now;
  const result: GcResult = { stopped: [], destroyed: [], kept: [], errors: [] };

  /** The tunnel's view after stopping it if it expired; null when the api does not know it. */
  const settle = async (tunnelId: TunnelId): Promise<TunnelView | null> => {
    let view: TunnelView;
    try {
      view = await deps.api.getTunnel(tunnelId);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
    if (!isTerminal(view.state) && Date.parse(view.expiresAt) <= now()) {
      view = await deps.api.stopTunnel(tunnelId, "expired (support gc)");
      result.stopped.push(tunnelId);
    }
    return view;
  };

  const seen = new Set<string>();
  for (const record of await deps.records.all()) {
    seen.add(record.server.instanceId);
    try {
      const view = await settle(record.tunnelId);
      if (view && !isTerminal(view.state)) {
        result.kept.push(record.tunnelId);
        continue;
      }
      const destroyed = await destroyServerOf(record.tunnelId, view, deps);
      if (destroyed) result.destroyed.push(destroyed);
    } catch (err) {
      result.errors.push(`${record.tunnelId}: ${(err as Error).message}`);
    }
  }

  for (const provider of deps.listable) {
    let servers: { instanceId: string; tunnelId: TunnelId }[];
    try {
      servers = await provider.list();
    } catch (err) {
      result.errors.push(`${provider.name} list: ${(err as Error).message}`);
      continue;
    }
    for (const server of servers) {
      if (seen.has(server.instanceId)) continue;
      seen.add(server.instanceId);
      try {
        const view = await settle(server.tunnelId);
        if (view && !isTerminal(view.state)) {
          result.kept.push(server.tunnelId);
          continue;
        }
        const step = deps.printer.step(`destroying orphan server ${server.instanceId}`);
        await provider.destroy(server);
        step.done(`orphan server ${server.instanceId} destroyed`);
        result.destroyed.push(server.instanceId);
      } catch (err) {
        result.errors.push(`${server.instanceId}: ${(err as Error).message}`);
      }
    }
  }

  deps.printer.data(result, () =>
    [
      `stopped ${result.stopped.length} expired tunnel(s), destroyed ${result.destroyed.length} server(s), kept ${result.kept.length} live`,
      ...result.errors.map((e) => `error: ${e}`),
    ].join("\n"),
  );
  return result;
}

export type { ProviderName };
