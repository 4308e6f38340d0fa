// Long-poll support: wait until a tunnel's state differs from a given one.
// Every committed state change, by any replica or the sweep, is announced by
// the database (LISTEN/NOTIFY, see database/tunnel-change-feed.ts), so waiters
// wake at once and waiting costs the database nothing. In case a notification
// is ever lost, one batched re-read per replica every few seconds checks all
// the tunnels being waited on, however many waiters there are.
import type {
  BeforeApplicationShutdown,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from "@nestjs/common";
import type { TunnelChange, TunnelChangeFeed } from "../database/tunnel-change-feed";
import type { TunnelRepository } from "../repositories/tunnel.repository";

export interface TunnelWatcherOptions {
  /** How often the safety re-read runs; default 5 s. */
  rereadMs?: number;
  /** Where a failed re-read is reported. */
  onError?: (err: unknown) => void;
}

interface Waiter {
  sinceRank: number;
  /** Order of arrival: a re-read judges only the waiters that were there before it read. */
  seq: number;
  wake(): void;
}

/**
 * How long an announced rank is remembered: it covers the moment between a
 * long-poll's read of the tunnel and the start of its wait, when an
 * announcement would otherwise find no one to wake.
 */
const ANNOUNCED_TTL_MS = 60_000;

export class TunnelWatcher
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Ranks announced lately, oldest first. */
  private readonly announced = new Map<string, { rank: number; at: number }>();
  private waitingCount = 0;
  private nextSeq = 0;
  private closed = false;
  private readonly rereadMs: number;
  private rereadTimer: NodeJS.Timeout | null = null;
  private rereading: Promise<void> | null = null;

  constructor(
    private readonly tunnels: Pick<TunnelRepository, "statesOf">,
    private readonly feed: TunnelChangeFeed | null,
    private readonly options: TunnelWatcherOptions = {},
  ) {
    this.rereadMs = options.rereadMs ?? 5000;
  }

  /** Long-polls waiting right now (a metric; also shows that disconnects clean up). */
  get waiting(): number {
    return this.waitingCount;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.feed?.start({
      changed: (change) => this.changed(change),
      resync: () => void this.rereadNow(),
    });
    this.rereadTimer = setInterval(() => void this.rereadNow(), this.rereadMs);
    this.rereadTimer.unref();
  }

  /**
   * Wakes every waiter, and answers later waits at once: at shutdown, held
   * long-polls answer with the current state instead of holding the server open.
   */
  close(): void {
    this.closed = true;
    if (this.rereadTimer) clearInterval(this.rereadTimer);
    this.rereadTimer = null;
    for (const set of [...this.waiters.values()]) for (const waiter of [...set]) waiter.wake();
  }

  beforeApplicationShutdown(): void {
    this.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.rereading;
    await this.feed?.close();
  }

  /** A committed change (from the feed): wakes the tunnel's waiters whose state it leaves. */
  changed({ tunnelId, rank }: TunnelChange): void {
    const now = Date.now();
    this.announced.delete(tunnelId);
    this.announced.set(tunnelId, { rank, at: now });
    for (const [id, seen] of this.announced) {
      if (now - seen.at < ANNOUNCED_TTL_MS) break;
      this.announced.delete(id);
    }
    const set = this.waiters.get(tunnelId);
    if (!set) return;
    for (const waiter of [...set]) if (waiter.sinceRank !== rank) waiter.wake();
  }

  /** Resolves when the tunnel's state rank is no longer `sinceRank`, at `deadline`, or on abort. */
  waitForChange(
    tunnelId: string,
    sinceRank: number,
    deadline: number,
    signal: AbortSignal,
  ): Promise<void> {
    if (this.closed || signal.aborted) return Promise.resolve();
    // Announced between the caller's read and now: a higher rank has moved on. (The one
    // step back, a refused approval, wakes through the announcement or the re-read.)
    const seen = this.announced.get(tunnelId);
    if (seen && seen.rank > sinceRank) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(tunnelId);
      if (!set) this.waiters.set(tunnelId, (set = new Set()));
      const waiters = set;
      let done = false;
      const wake = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", wake);
        waiters.delete(waiter);
        if (waiters.size === 0 && this.waiters.get(tunnelId) === waiters) {
          this.waiters.delete(tunnelId);
        }
        this.waitingCount--;
        resolve();
      };
      const waiter: Waiter = { sinceRank, seq: this.nextSeq++, wake };
      // A timer can fire a millisecond before Date.now() reaches its deadline: never answer early.
      const atDeadline = () => {
        const left = deadline - Date.now();
        if (left > 0) timer = setTimeout(atDeadline, left);
        else wake();
      };
      let timer = setTimeout(atDeadline, Math.max(0, deadline - Date.now()));
      signal.addEventListener("abort", wake, { once: true });
      waiters.add(waiter);
      this.waitingCount++;
    });
  }

  /**
   * The safety re-read: one query for every tunnel waited on, waking the
   * waiters whose tunnel is no longer in the state they wait to leave.
   */
  rereadNow(): Promise<void> {
    this.rereading ??= this.reread()
      .catch((err: unknown) => this.options.onError?.(err))
      .finally(() => (this.rereading = null));
    return this.rereading;
  }

  private async reread(): Promise<void> {
    if (this.waiters.size === 0) return;
    const ids = [...this.waiters.keys()];
    // A waiter that came after the read may already have seen a newer state than it.
    const before = this.nextSeq;
    const ranks = await this.tunnels.statesOf(ids);
    for (const id of ids) {
      const rank = ranks.get(id);
      for (const waiter of [...(this.waiters.get(id) ?? [])]) {
        if (waiter.seq < before && rank !== waiter.sinceRank) waiter.wake();
      }
    }
  }
}
