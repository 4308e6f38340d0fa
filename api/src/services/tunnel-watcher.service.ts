// Long-poll support: wait until a tunnel's state differs from a given one.
// Changes made by this replica wake waiters at once through an in-process
// emitter; a cheap re-read every second catches changes by other replicas and
// by the sweep, so the api stays stateless behind a load balancer.
import { EventEmitter } from "node:events";
import type { BeforeApplicationShutdown } from "@nestjs/common";
import type { TunnelRepository } from "../repositories/tunnel.repository";

export interface TunnelWatcherOptions {
  /** How often a waiter re-reads the state; default 1 s. */
  rereadMs?: number;
}

export class TunnelWatcher implements BeforeApplicationShutdown {
  private readonly emitter = new EventEmitter();
  /** Wakes every waiter at shutdown so open long-polls answer instead of holding the server open. */
  private readonly closing = new AbortController();
  private readonly rereadMs: number;

  constructor(
    private readonly tunnels: Pick<TunnelRepository, "stateOf">,
    options: TunnelWatcherOptions = {},
  ) {
    this.rereadMs = options.rereadMs ?? 1000;
    // One listener per waiting long-poll; hundreds are normal, not a leak.
    this.emitter.setMaxListeners(0);
  }

  /** Long-polls waiting right now (a metric; also shows that disconnects clean up). */
  private waitingCount = 0;

  get waiting(): number {
    return this.waitingCount;
  }

  /**
   * Wakes every waiter, and answers later waits at once: at shutdown, held
   * long-polls answer with the current state instead of holding the server open.
   */
  close(): void {
    this.closing.abort();
  }

  beforeApplicationShutdown(): void {
    this.close();
  }

  /** Tells this replica's waiters that `tunnelId` changed. */
  changed(tunnelId: string): void {
    this.emitter.emit(tunnelId);
  }

  /** Resolves when the tunnel's state rank is no longer `sinceRank`, at `deadline`, or on abort. */
  async waitForChange(
    tunnelId: string,
    sinceRank: number,
    deadline: number,
    signal: AbortSignal,
  ): Promise<void> {
    this.waitingCount++;
    try {
      while (!signal.aborted && !this.closing.signal.aborted && Date.now() < deadline) {
        await this.nextTick(tunnelId, Math.min(this.rereadMs, deadline - Date.now()), signal);
        if (signal.aborted || this.closing.signal.aborted) return;
        const rank = await this.tunnels.stateOf(tunnelId);
        if (rank !== sinceRank) return;
      }
    } finally {
      this.waitingCount--;
    }
  }

  private nextTick(tunnelId: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(tunnelId, done);
        signal.removeEventListener("abort", done);
        this.closing.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.emitter.on(tunnelId, done);
      signal.addEventListener("abort", done, { once: true });
      this.closing.signal.addEventListener("abort", done, { once: true });
    });
  }
}
