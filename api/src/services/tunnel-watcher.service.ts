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
import type { TunnelEntity } from "../entities/tunnel.entity";
import type { TunnelRepository } from "../repositories/tunnel.repository";

export interface TunnelWatcherOptions {
  /** How often the safety re-read runs; default 5 s. */
  rereadMs?: number;
  /** Where a failed re-read is reported. */
  onError?: (err: unknown) => void;
}

/** A listener object, as EventTarget takes one: the waiter itself. */
export interface WaitListener {
  handleEvent(): void;
}

/**
 * What a wait needs of its client's going. An AbortSignal is one; the device
 * edge gives a lighter one of its own (no AbortController, EventTarget and
 * listener map per held long-poll: see request-context.ts).
 */
export interface WaitSignal {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: WaitListener, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: WaitListener): void;
}

/**
 * One held wait. It is its own abort listener (`handleEvent`) and sits in its
 * deadline's bucket, so a held long-poll costs this object and two set
 * entries: no timer, closure or listener function of its own. Thousands are
 * held at once, so the few bytes each matter (issue 14: 19k on one process).
 */
export class TunnelWaiter {
  /** Null once woken: a wake is done once, whoever asks first. */
  resolve: ((committed: TunnelEntity | null) => void) | null;

  constructor(
    private readonly watcher: TunnelWatcher,
    readonly tunnelId: string,
    readonly sinceRank: number,
    /** Order of arrival: a re-read judges only the waiters that were there before it read. */
    readonly seq: number,
    /** The deadline bucket it sits in (see DEADLINE_TICK_MS). */
    readonly due: number,
    readonly signal: WaitSignal,
    resolve: (committed: TunnelEntity | null) => void,
  ) {
    this.resolve = resolve;
  }

  /** The client went away. */
  handleEvent(): void {
    this.watcher.wake(this);
  }
}

/**
 * Deadlines are kept in buckets this wide, rounded up, and one timer serves
 * the earliest bucket: a long-poll answers at most this late, never early.
 */
const DEADLINE_TICK_MS = 100;

/**
 * How long an announced rank is remembered: it covers the moment between a
 * long-poll's read of the tunnel and the start of its wait, when an
 * announcement would otherwise find no one to wake.
 */
const ANNOUNCED_TTL_MS = 60_000;

export class TunnelWatcher
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly waiters = new Map<string, Set<TunnelWaiter>>();
  /** Waiters by deadline bucket, and the buckets' times in ascending order. */
  private readonly dueBuckets = new Map<number, Set<TunnelWaiter>>();
  private readonly dueTimes: number[] = [];
  private dueTimer: NodeJS.Timeout | null = null;
  /** When dueTimer fires (the earliest bucket's time when it was armed). */
  private dueTimerAt = Infinity;
  /** Changes this replica is committing, by tunnel, and the notifications held meanwhile. */
  private readonly committing = new Map<string, { count: number; held: TunnelChange[] }>();
  /** Ranks announced lately, oldest first. */
  private readonly announced = new Map<string, { rank: number; at: number }>();
  private waitingCount = 0;
  private nextSeq = 0;
  private closed = false;
  private readonly rereadMs: number;
  private rereadTimer: NodeJS.Timeout | null = null;
  private rereading: Promise<void> | null = null;

  constructor(
    private readonly tunnels: Pick<TunnelRepository, "statesLeft">,
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
    for (const set of [...this.waiters.values()]) for (const waiter of [...set]) this.wake(waiter);
  }

  beforeApplicationShutdown(): void {
    this.close();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.rereading;
    await this.feed?.close();
  }

  /**
   * Runs `change`, a change of `tunnelId` that this replica commits, and
   * answers the tunnel's waiters with the tunnel it returns, without reading
   * it again: a round trip less for each woken long-poll. The change's own
   * notification comes on the feed's connection and is mostly heard before
   * the statement's answer is (measured: 3 wakes in 4), when it would wake the
   * waiters with nothing and each would read the tunnel again. So the
   * tunnel's notifications are held while the change runs and heard after it,
   * when they find no one left to wake but later arrivals. Null from `change`
   * (nothing changed) wakes no one by itself.
   */
  async commit(
    tunnelId: string,
    change: () => Promise<TunnelEntity | null>,
  ): Promise<TunnelEntity | null> {
    let running = this.committing.get(tunnelId);
    if (!running) this.committing.set(tunnelId, (running = { count: 0, held: [] }));
    running.count++;
    try {
      const changed = await change();
      if (changed) this.wakeChanged({ tunnelId, rank: changed.state }, changed);
      return changed;
    } finally {
      if (--running.count === 0) {
        this.committing.delete(tunnelId);
        for (const held of running.held) this.wakeChanged(held);
      }
    }
  }

  /**
   * A committed change heard from the feed (or, in tests, told): wakes the
   * tunnel's waiters whose state it leaves, once this replica's own change of
   * the tunnel, if one is running, has answered them (see commit()).
   */
  changed(change: TunnelChange): void {
    const running = this.committing.get(change.tunnelId);
    if (running) running.held.push(change);
    else this.wakeChanged(change);
  }

  private wakeChanged({ tunnelId, rank }: TunnelChange, tunnel: TunnelEntity | null = null): void {
    const now = Date.now();
    this.announced.delete(tunnelId);
    this.announced.set(tunnelId, { rank, at: now });
    for (const [id, seen] of this.announced) {
      if (now - seen.at < ANNOUNCED_TTL_MS) break;
      this.announced.delete(id);
    }
    const set = this.waiters.get(tunnelId);
    if (!set) return;
    for (const waiter of [...set]) if (waiter.sinceRank !== rank) this.wake(waiter, tunnel);
  }

  /**
   * Resolves when the tunnel's state rank is no longer `sinceRank`, at `deadline`, or on abort:
   * with the tunnel when this replica committed the change (see commit()), else null.
   */
  waitForChange(
    tunnelId: string,
    sinceRank: number,
    deadline: number,
    signal: WaitSignal,
  ): Promise<TunnelEntity | null> {
    if (this.closed || signal.aborted) return Promise.resolve(null);
    // Announced between the caller's read and now: a higher rank has moved on. (The one
    // step back, a refused approval, wakes through the announcement or the re-read.)
    const seen = this.announced.get(tunnelId);
    if (seen && seen.rank > sinceRank) return Promise.resolve(null);
    return new Promise((resolve) => {
      const due = Math.ceil(deadline / DEADLINE_TICK_MS) * DEADLINE_TICK_MS;
      const waiter = new TunnelWaiter(
        this,
        tunnelId,
        sinceRank,
        this.nextSeq++,
        due,
        signal,
        resolve,
      );
      let set = this.waiters.get(tunnelId);
      if (!set) this.waiters.set(tunnelId, (set = new Set()));
      set.add(waiter);
      this.addDue(waiter);
      signal.addEventListener("abort", waiter, { once: true });
      this.waitingCount++;
    });
  }

  /** Ends a wait (its change, its deadline, its client gone or shutdown); once only. */
  wake(waiter: TunnelWaiter, committed: TunnelEntity | null = null): void {
    const resolve = waiter.resolve;
    if (!resolve) return;
    waiter.resolve = null;
    waiter.signal.removeEventListener("abort", waiter);
    const set = this.waiters.get(waiter.tunnelId);
    if (set?.delete(waiter) && set.size === 0) this.waiters.delete(waiter.tunnelId);
    const bucket = this.dueBuckets.get(waiter.due);
    // An emptied bucket stays listed until its time comes: dropping it is a no-op then.
    bucket?.delete(waiter);
    this.waitingCount--;
    if (this.waitingCount === 0) this.disarmDue();
    resolve(committed);
  }

  private addDue(waiter: TunnelWaiter): void {
    let bucket = this.dueBuckets.get(waiter.due);
    if (!bucket) {
      this.dueBuckets.set(waiter.due, (bucket = new Set()));
      // Nearly always the latest (now + the wait): the search is for shorter waits.
      const times = this.dueTimes;
      let at = times.length;
      while (at > 0 && times[at - 1]! > waiter.due) at--;
      times.splice(at, 0, waiter.due);
    }
    bucket.add(waiter);
    if (waiter.due < this.dueTimerAt) this.armDue(waiter.due);
  }

  private armDue(at: number): void {
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimerAt = at;
    this.dueTimer = setTimeout(() => this.wakeDue(), Math.max(0, at - Date.now()));
  }

  private disarmDue(): void {
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = null;
    this.dueTimerAt = Infinity;
    this.dueBuckets.clear();
    this.dueTimes.length = 0;
  }

  /** Wakes the waiters whose deadline has come, and arms the timer for the next. */
  private wakeDue(): void {
    this.dueTimer = null;
    this.dueTimerAt = Infinity;
    // A timer can fire a millisecond before Date.now() reaches its time: never answer early.
    const now = Date.now();
    const times = this.dueTimes;
    let passed = 0;
    while (passed < times.length && times[passed]! <= now) passed++;
    for (const due of times.splice(0, passed)) {
      const bucket = this.dueBuckets.get(due);
      this.dueBuckets.delete(due);
      if (bucket) for (const waiter of bucket) this.wake(waiter);
    }
    if (times.length > 0 && this.dueTimer === null) this.armDue(times[0]!);
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
    // A waiter that came after the read may already have seen a newer state than it.
    const before = this.nextSeq;
    const waits: { id: string; rank: number }[] = [];
    for (const [id, set] of this.waiters) {
      const ranks = new Set<number>();
      for (const waiter of set) ranks.add(waiter.sinceRank);
      for (const rank of ranks) waits.push({ id, rank });
    }
    for (const left of await this.tunnels.statesLeft(waits)) {
      for (const waiter of [...(this.waiters.get(left.id) ?? [])]) {
        if (waiter.seq < before && left.rank !== waiter.sinceRank) this.wake(waiter);
      }
    }
  }
}
