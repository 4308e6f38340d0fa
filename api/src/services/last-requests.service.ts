// The fleet view's "last request" of each device, kept in memory as the polls
// come and written for all devices every few seconds (a statement per
// thousand) and at shutdown. A write per poll (even at most one per device per
// 10 s) was ~600 commits/s at 19k devices: the database's main work, for a
// column that only the fleet view reads. The fleet view flushes this replica's before it reads,
// so it lags only by other replicas' (at most one flush interval).
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from "@nestjs/common";
import type { DeviceRepository } from "../repositories/device.repository";

/**
 * Devices written per statement, one statement after another. All of them in
 * one (19k after the devices' polls come back at once) held the event loop to
 * build it and PostgreSQL to run it for long enough to show in the wake-ups'
 * tail (issue 14); in chunks, requests are answered between them.
 */
export const ROWS_PER_STATEMENT = 1000;

export interface LastRequestsOptions {
  /** How often the pending last requests are written; default 5 s. */
  flushMs?: number;
  /** Where a failed write is reported (its values are kept for the next one). */
  onError?: (err: unknown) => void;
}

export class LastRequests implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Device id → its latest request not written yet (in ms). */
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  /** The write under way: flushes run one after another, never two at once. */
  private writing: Promise<void> = Promise.resolve();
  private statements = 0;

  constructor(
    private readonly devices: Pick<DeviceRepository, "writeLastRequests">,
    private readonly options: LastRequestsOptions = {},
  ) {}

  /** Statements written so far (tests: many polls make one). */
  get writes(): number {
    return this.statements;
  }

  /** A request of the device at `at`: remembered, written with the next flush. */
  record(deviceId: string, at: Date): void {
    const ms = at.getTime();
    const known = this.pending.get(deviceId);
    if (known === undefined || known < ms) this.pending.set(deviceId, ms);
  }

  /** Writes every pending last request in one statement (none when nothing is pending). */
  flush(): Promise<void> {
    // After the previous write, failed or not (its failure was its caller's to report).
    this.writing = this.writing.catch(() => undefined).then(() => this.writePending());
    return this.writing;
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending = new Map();
    for (let from = 0; from < batch.length; from += ROWS_PER_STATEMENT) {
      const rows = batch.slice(from, from + ROWS_PER_STATEMENT);
      try {
        this.statements++;
        await this.devices.writeLastRequests(
          rows.map(([id]) => id),
          rows.map(([, ms]) => new Date(ms)),
        );
      } catch (err) {
        // Kept for the next flush, unless a later request came in meanwhile.
        for (const [id, ms] of batch.slice(from)) this.record(id, new Date(ms));
        throw err;
      }
    }
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.flush().catch((err: unknown) => this.options.onError?.(err));
    }, this.options.flushMs ?? 5000);
    this.timer.unref();
  }

  /** Before the database goes (its module shuts down first): the last write. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush().catch((err: unknown) => this.options.onError?.(err));
  }
}
