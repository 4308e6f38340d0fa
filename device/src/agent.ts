// The long-running agent: one watcher per local tunnel that long-polls the api
// and connects the moment the tunnel is approved, stops it when it ends, and
// tears it down at expiry on a local timer that needs no api at all. It learns
// of tunnels requested and stopped on this device from the state directory's
// changes (inotify), so an idle agent wakes for nothing but its long-polls.
// From common's modules, not its index, which loads zod: the idle agent does without it.
import type { DeviceTunnelView } from "@support-tunnel/common";
import { isTerminal, TunnelState } from "@support-tunnel/common/dist/state";
import type { Clock, DeviceApiFactory, StateStore, WireGuard } from "./adapters/ports";
import { ApprovalRefusedError, NotReadyError, NotYetOpenError } from "./errors";
import { PollPacer } from "./poll-pacer";
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
  /** Least time between two polls of one tunnel, over time (a few may follow at once). */
  minPollIntervalMs?: number;
  /** First delay after an api failure or an early answer; doubles up to `maxBackoffMs`, with jitter. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * How often session records past their retention are removed; the state dir
   * is listed again then too, in case a change was missed.
   */
  pruneEveryMs?: number;
  /** In [0, 1): the backoff's jitter. */
  random?: () => number;
}

export type WatchOutcome = "up" | "ended" | "aborted";

/**
 * Polls that may follow each other at once: the first look and the long-poll
 * after it, or a change, the look that reports it and the next long-poll.
 */
const POLL_BURST = 3;

/**
 * Tells one watcher that its record changed on disk (a `stop`, a `connect` by
 * hand), so that it looks again at once instead of after its long-poll. Only a
 * record that differs from what the watcher last read ends its wait: its own
 * writes, seen by the time it waits, do not.
 */
class RecordChanges {
  private lastSeen = "";
  private wait: AbortController | null = null;

  constructor(private readonly readRecord: () => Promise<unknown>) {}

  seen(record: unknown): void {
    this.lastSeen = JSON.stringify(record);
  }

  /** A signal that a change during this wait aborts. */
  beginWait(): AbortSignal {
    this.wait = new AbortController();
    return this.wait.signal;
  }

  endWait(): void {
    this.wait = null;
  }

  async changed(): Promise<void> {
    const wait = this.wait;
    if (!wait) return;
    const now = await this.readRecord().then(
      (record) => JSON.stringify(record),
      () => "unreadable",
    );
    if (now !== this.lastSeen) wait.abort();
  }
}

type PollResult =
  /** `early`: a long-poll that came back in less than half the time asked. */
  | { view: DeviceTunnelView; early: boolean }
  /** The tunnel's expiry or start came or the agent is stopping ("deadline"), or the record changed. */
  | { interrupted: "deadline" | "local" };

export class Agent {
  private readonly waitSeconds: number;
  private readonly minPollIntervalMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly pruneEveryMs: number;
  private readonly random: () => number;

  constructor(
    private readonly deps: AgentDeps,
    options: AgentOptions = {},
  ) {
    this.waitSeconds = options.waitSeconds ?? 25;
    this.minPollIntervalMs = options.minPollIntervalMs ?? 1000;
    this.backoffMs = options.backoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.pruneEveryMs = options.pruneEveryMs ?? 3600_000;
    this.random = options.random ?? Math.random;
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
    const watchers = new Map<string, { done: Promise<WatchOutcome>; changes: RecordChanges }>();
    const startWatching = (id: string) => {
      if (watchers.has(id) || signal.aborted) return;
      const changes = new RecordChanges(() => store.read(id));
      const done = this.watchTunnel(id, signal, {}, changes).finally(() => watchers.delete(id));
      watchers.set(id, { done, changes });
    };
    const watchAll = async () => {
      try {
        for (const record of await store.list()) startWatching(record.tunnelId);
      } catch (err) {
        log(`reading the state dir: ${(err as Error).message}`);
      }
    };
    const onChange = (id: string | null) => {
      if (id === null) return void watchAll();
      const watcher = watchers.get(id);
      // A new record (`request`, the consent page) is watched at once, and its first poll is immediate.
      if (!watcher) return startWatching(id);
      void watcher.changes.changed();
    };
    // Watching starts before the listing, so a tunnel requested in between is not missed.
    let unwatch = await this.watchStateDir(onChange, signal);
    await watchAll();
    while (!signal.aborted) {
      try {
        const pruned = await upkeep.prune();
        if (pruned.length)
          log(`removed the session records of ${pruned.join(", ")} (past their retention)`);
      } catch (err) {
        log(`removing old session records: ${(err as Error).message}`);
      }
      await clock.sleep(this.pruneEveryMs, signal);
      if (signal.aborted) break;
      // A safety net as slow as the pruning: a watch that failed is set up again,
      // and a change it missed (an inotify queue overflow) is caught up with.
      unwatch?.();
      unwatch = await this.watchStateDir(onChange, signal);
      await watchAll();
    }
    unwatch?.();
    await Promise.allSettled([...watchers.values()].map((w) => w.done));
  }

  /** Watches the state dir; a watch that fails is set up again, after a pause. */
  private async watchStateDir(
    onChange: (id: string | null) => void,
    signal: AbortSignal,
  ): Promise<(() => void) | undefined> {
    const { store, clock, log } = this.deps;
    let failed = false;
    let close: (() => void) | undefined;
    const onError = (err: Error) => {
      if (failed) return;
      failed = true;
      close?.();
      log(`watching the state dir failed (${err.message}); watching it again in a minute`);
      void clock.sleep(60_000, signal).then(async () => {
        if (signal.aborted) return;
        close = await this.watchStateDir(onChange, signal);
        onChange(null);
      });
    };
    try {
      close = await store.watch(onChange, onError);
    } catch (err) {
      onError(err as Error);
    }
    return () => close?.();
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
    return this.watchTunnel(id, signal, options, new RecordChanges(() => this.deps.store.read(id)));
  }

  private async watchTunnel(
    id: string,
    signal: AbortSignal,
    options: { untilUp?: boolean },
    changes: RecordChanges,
  ): Promise<WatchOutcome> {
    const { store, lifecycle, upkeep, clock, api, wg, log } = this.deps;
    const pacer = new PollPacer({
      minIntervalMs: this.minPollIntervalMs,
      burst: POLL_BURST,
      backoffMs: this.backoffMs,
      maxBackoffMs: this.maxBackoffMs,
      random: this.random,
    });
    let since: TunnelState | undefined;
    let refusedApproval: string | undefined;
    let waitingSaid: string | undefined;
    let seenRecord = false;
    let earlySaid = false;
    while (!signal.aborted) {
      try {
        const record = await store.read(id);
        changes.seen(record);
        if (!record) {
          if (seenRecord) log(`tunnel ${id} was stopped on this device`);
          return "ended";
        }
        seenRecord = true;
        if (isExpired(record, clock.now())) {
          log(`tunnel ${id} expired: tearing it down`);
          await lifecycle.stop(id, "expiry");
          return "ended";
        }
        // Up on paper but its interface died (wireguard-go killed, a closed terminal's
        // SIGHUP under an older release): looked for whenever the agent wakes anyway,
        // and brought back no more often than it polls, backing off if it keeps dying.
        const linkLost =
          record.phase === "up" && !(await wg.interfaces()).includes(record.interface);
        if (linkLost && pacer.nextPollAt(clock.now()) <= clock.now()) {
          pacer.started(clock.now());
          pacer.struck(clock.now());
          log(`tunnel ${id}: its interface ${record.interface} is gone; bringing it back`);
          const outcome = await upkeep.restoreLink(id);
          if (outcome === "restored") log(`tunnel ${id}: ${record.interface} is back up`);
          // Reset to `requested`: ask at once, so it is connected again without a long-poll's wait.
          if (outcome === "reset") since = undefined;
          continue;
        }
        const msLeft = Date.parse(effectiveExpiry(record)) - clock.now();
        // Before the customer's start the poll also ends at the start, so an approval
        // that came early is connected the moment access opens, not a long-poll later.
        const pollMs = isBeforeStart(record, clock.now())
          ? Math.min(msLeft, Date.parse(record.notBefore!) - clock.now())
          : msLeft;
        const paceMs = pacer.nextPollAt(clock.now()) - clock.now();
        if (paceMs > 0) {
          // Not yet time to ask the api again; a change on disk still wakes the watcher.
          const local = changes.beginWait();
          await clock.sleep(Math.min(paceMs, pollMs), AbortSignal.any([signal, local]));
          changes.endWait();
          continue;
        }
        pacer.started(clock.now());
        const result = await this.pollUntil(
          api(record.apiUrl, record.deviceToken),
          since,
          pollMs,
          signal,
          changes,
        );
        if ("interrupted" in result) {
          // The loop head decides, from the record; after a deadline, asking the api afresh.
          if (result.interrupted === "deadline") since = undefined;
          continue;
        }
        const { view } = result;
        if (since !== undefined && view.state === since && result.early) {
          // Held for far less than asked, with nothing new: the api is not holding
          // long-polls (shutting down, or a proxy in the way). Back off, do not spin.
          pacer.struck(clock.now());
          if (!earlySaid)
            log(`tunnel ${id}: the api answers at once with nothing new; asking less often`);
          earlySaid = true;
        } else {
          pacer.answered();
          earlySaid = false;
        }
        if (view.state !== since) log(`tunnel ${id}: ${view.state}`);
        since = view.state;
        if (isTerminal(view.state)) {
          log(`tunnel ${id} ended on the api (${view.state}): tearing it down`);
          await lifecycle.stop(id, "ended", view.stopReason ?? undefined, view.stoppedBy);
          return "ended";
        }
        if (!isApproved(view.state)) {
          // Pending after an approval this device acted on: support took it back.
          if (record.phase === "up" || record.phase === "connecting")
            await lifecycle.undoWithdrawn(id);
          continue;
        }
        if (record.phase === "up") {
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
          const connected = await lifecycle.connect(id);
          log(
            `tunnel ${id} is up: support user ${connected.supportUser} on ${connected.interface}`,
          );
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
            if (waitingSaid !== approval) log(`${err.message}; waiting`);
            waitingSaid = approval;
          } else if (err instanceof NotReadyError) {
            // Not approved after all, or its approval has run out: look again, without hammering.
            since = undefined;
            pacer.struck(clock.now());
          } else {
            throw err;
          }
        }
      } catch (err) {
        changes.endWait();
        if (signal.aborted) break;
        log(`tunnel ${id}: ${(err as Error).message}`);
        since = undefined;
        pacer.struck(clock.now());
      }
    }
    return "aborted";
  }

  /**
   * One long-poll, abandoned after `msLeft` (the tunnel's expiry, or its start),
   * when the agent stops or when the record changes on disk: `interrupted` then.
   * Api failures are thrown to the caller's backoff.
   */
  private async pollUntil(
    client: ReturnType<DeviceApiFactory>,
    since: TunnelState | undefined,
    msLeft: number,
    signal: AbortSignal,
    changes: RecordChanges,
  ): Promise<PollResult> {
    const { clock } = this.deps;
    const expiry = new AbortController();
    const done = new AbortController();
    const local = changes.beginWait();
    const timer = clock.sleep(msLeft, AbortSignal.any([signal, done.signal])).then(() => {
      if (!done.signal.aborted) expiry.abort(new Error("expired"));
    });
    const askedAt = clock.now();
    // Without a known state there is nothing to wait for a change from: ask at once.
    const waitSeconds = since === undefined ? undefined : this.waitSeconds;
    try {
      const view = await client.getDeviceTunnel({
        waitSeconds,
        since,
        signal: AbortSignal.any([signal, expiry.signal, local]),
      });
      const early = waitSeconds !== undefined && clock.now() - askedAt < (waitSeconds * 1000) / 2;
      return { view, early };
    } catch (err) {
      if (expiry.signal.aborted || signal.aborted) return { interrupted: "deadline" };
      if (local.aborted) return { interrupted: "local" };
      throw err;
    } finally {
      changes.endWait();
      done.abort();
      await timer;
    }
  }
}
