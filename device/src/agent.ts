// The long-running agent: one watcher per local tunnel that long-polls the api
// and connects the moment the tunnel is approved, stops it when it ends, and
// tears it down at expiry on a local timer that needs no api at all.
import { isTerminal, TunnelState } from "@support-tunnel/common";
import type { Clock, DeviceApiFactory, StateStore, WireGuard } from "./adapters/ports";
import { ApprovalRefusedError, NotReadyError, NotYetOpenError } from "./errors";
import { effectiveExpiry, isBeforeStart, isExpired } from "./record";
import { isApproved, type TunnelLifecycle } from "./tunnel-lifecycle";
import type { TunnelUpkeep } from "./tunnel-upkeep";

export interface AgentDeps {
  lifecycle: TunnelLifecycle;
  upkeep: TunnelUpkeep;
  store: StateStore;
  clock: Clock;
  api: DeviceApiFactory;
  wg: WireGuard;
  log: (message: string) => void;
}

export interface AgentOptions {
  /** Long-poll length; the api caps it at 30. */
  waitSeconds?: number;
  /** How often the state dir is rescanned for tunnels requested after start. */
  rescanMs?: number;
  /** First delay after an api failure; doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** How often session records past their retention are removed. */
  pruneEveryMs?: number;
}

export type WatchOutcome = "up" | "ended" | "aborted";

export class Agent {
  private readonly waitSeconds: number;
  private readonly rescanMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly pruneEveryMs: number;

  constructor(
    private readonly deps: AgentDeps,
    options: AgentOptions = {},
  ) {
    this.waitSeconds = options.waitSeconds ?? 25;
    this.rescanMs = options.rescanMs ?? 2000;
    this.backoffMs = options.backoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.pruneEveryMs = options.pruneEveryMs ?? 3600_000;
  }

  /** Runs until `signal` aborts. Tunnels that are up stay up: they are still consented to. */
  async run(signal: AbortSignal): Promise<void> {
    const { store, upkeep, clock, log } = this.deps;
    for (const record of await store.list()) {
      try {
        await upkeep.recover(record.tunnelId);
      } catch (err) {
        log(`recovering tunnel ${record.tunnelId}: ${(err as Error).message}`);
      }
    }
    const watchers = new Map<string, Promise<WatchOutcome>>();
    let prunedAt = -Infinity;
    while (!signal.aborted) {
      if (clock.now() - prunedAt >= this.pruneEveryMs) {
        prunedAt = clock.now();
        try {
          const pruned = await upkeep.prune();
          if (pruned.length)
            log(`removed the session records of ${pruned.join(", ")} (past their retention)`);
        } catch (err) {
          log(`removing old session records: ${(err as Error).message}`);
        }
      }
      try {
        for (const record of await store.list()) {
          if (watchers.has(record.tunnelId)) continue;
          const watcher = this.watch(record.tunnelId, signal).finally(() =>
            watchers.delete(record.tunnelId),
          );
          watchers.set(record.tunnelId, watcher);
        }
      } catch (err) {
        log(`reading the state dir: ${(err as Error).message}`);
      }
      await clock.sleep(this.rescanMs, signal);
    }
    await Promise.allSettled(watchers.values());
  }

  /**
   * Watches one tunnel until it ends, `signal` aborts, or (with `untilUp`) it is up.
   * Never throws: every failure is logged and retried with backoff.
   */
  async watch(
    id: string,
    signal: AbortSignal,
    options: { untilUp?: boolean } = {},
  ): Promise<WatchOutcome> {
    const { store, lifecycle, clock, api, wg, log } = this.deps;
    let since: TunnelState | undefined;
    let failures = 0;
    let refusedApproval: string | undefined;
    let waitingSaid: string | undefined;
    const backoff = async (msLeft: number) => {
      const ms = Math.min(
        this.backoffMs * 2 ** Math.min(failures, 16),
        this.maxBackoffMs,
        Math.max(msLeft, 0),
      );
      failures++;
      await clock.sleep(ms, signal);
    };
    while (!signal.aborted) {
      let msLeft = 0;
      try {
        const record = await store.read(id);
        if (!record) return "ended";
        if (isExpired(record, clock.now())) {
          log(`tunnel ${id} expired: tearing it down`);
          await lifecycle.stop(id, "expiry");
          return "ended";
        }
        msLeft = Date.parse(effectiveExpiry(record)) - clock.now();
        // Before the customer's start the poll also ends at the start, so an approval
        // that came early is connected the moment access opens, not a long-poll later.
        const pollMs = isBeforeStart(record, clock.now())
          ? Math.min(msLeft, Date.parse(record.notBefore!) - clock.now())
          : msLeft;
        const view = await this.pollUntil(
          api(record.apiUrl, record.deviceToken),
          since,
          pollMs,
          signal,
        );
        if (view === null) {
          // Expiry, the start, or shutdown: the loop head decides, asking the api afresh.
          since = undefined;
          continue;
        }
        if (view.state !== since) log(`tunnel ${id}: ${view.state}`);
        since = view.state;
        if (isTerminal(view.state)) {
          log(`tunnel ${id} ended on the api (${view.state}): tearing it down`);
          await lifecycle.stop(id, "ended", view.stopReason ?? undefined, view.stoppedBy);
          return "ended";
        }
        if (!isApproved(view.state)) {
          failures = 0;
          // Pending after an approval this device acted on: support took it back.
          if (record.phase === "up" || record.phase === "connecting")
            await lifecycle.undoWithdrawn(id);
          continue;
        }
        const up = record.phase === "up" && (await wg.interfaces()).includes(record.interface);
        if (up) {
          failures = 0;
          if (view.state === TunnelState.Started) await lifecycle.reportConnected(record);
          if (options.untilUp) return "up";
          continue;
        }
        const approval = view.server?.approval;
        if (approval !== undefined && approval === refusedApproval) continue;
        // Judged already and waiting for the start: the poll above ends at the start.
        if (
          approval !== undefined &&
          approval === waitingSaid &&
          isBeforeStart(record, clock.now())
        )
          continue;
        try {
          const result = await lifecycle.connect(id);
          failures = 0;
          log(`tunnel ${id} is up: support user ${result.supportUser} on ${result.interface}`);
          if (options.untilUp) return "up";
        } catch (err) {
          if (err instanceof ApprovalRefusedError) {
            // Logged once per approval; a new one (the engineer retrying) is tried afresh.
            refusedApproval = approval;
            log(
              `${err.message}; ${err.supportTold ? "support was told and can approve again" : "support could not be told"}: waiting for a new approval`,
            );
          } else if (err instanceof NotYetOpenError) {
            // Approved early: keep watching (a stop still ends it) until the start.
            failures = 0;
            if (waitingSaid !== approval) log(`${err.message}; waiting`);
            waitingSaid = approval;
          } else if (err instanceof NotReadyError) {
            // Not approved after all, or its approval has run out: look again, without hammering.
            since = undefined;
            await backoff(msLeft);
          } else {
            throw err;
          }
        }
      } catch (err) {
        if (signal.aborted) break;
        log(`tunnel ${id}: ${(err as Error).message}`);
        since = undefined;
        await backoff(msLeft);
      }
    }
    return "aborted";
  }

  /**
   * One long-poll, abandoned after `msLeft` (the tunnel's expiry, or its start)
   * or when the agent stops: returns null then. Api failures are thrown to the
   * caller's backoff.
   */
  private async pollUntil(
    client: ReturnType<DeviceApiFactory>,
    since: TunnelState | undefined,
    msLeft: number,
    signal: AbortSignal,
  ) {
    const expiry = new AbortController();
    const done = new AbortController();
    const timer = this.deps.clock.sleep(msLeft, AbortSignal.any([signal, done.signal])).then(() => {
      if (!done.signal.aborted) expiry.abort(new Error("expired"));
    });
    try {
      // Without a known state there is nothing to wait for a change from: ask at once.
      return await client.getDeviceTunnel({
        waitSeconds: since === undefined ? undefined : this.waitSeconds,
        since,
        signal: AbortSignal.any([signal, expiry.signal]),
      });
    } catch (err) {
      if (expiry.signal.aborted || signal.aborted) return null;
      throw err;
    } finally {
      done.abort();
      await timer;
    }
  }
}
