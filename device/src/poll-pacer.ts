// When a tunnel's watcher may ask the api next. An api that answers long-polls
// at once (shutting down, a proxy that does not hold requests, a bug) or fails
// must not turn the agent into a busy loop. Two rules bound it:
// - a rate: a few polls may follow each other at once (the first look, then the
//   long-poll; a change, then the next long-poll), but over time no more than one
//   per `minIntervalMs` (a token bucket);
// - a backoff: each failure or early answer in a row doubles a pause before the
//   next poll, with jitter so that many devices do not come back in step.

export interface PollPacingOptions {
  /** Least time between polls, over time. */
  minIntervalMs: number;
  /** Polls that may follow each other at once before the rate applies. */
  burst: number;
  /** Backoff after the first failure or early answer; doubles with each in a row. */
  backoffMs: number;
  maxBackoffMs: number;
  /** In [0, 1): the jitter. */
  random: () => number;
}

export class PollPacer {
  private tokens: number;
  private tokensAt = -Infinity;
  private strikes = 0;
  private pausedUntil = -Infinity;

  constructor(private readonly options: PollPacingOptions) {
    this.tokens = options.burst;
  }

  private tokensNow(now: number): number {
    const { burst, minIntervalMs } = this.options;
    if (this.tokensAt === -Infinity) return burst;
    return Math.min(burst, this.tokens + (now - this.tokensAt) / minIntervalMs);
  }

  /** When the next poll may start (ms since the epoch); the first one at once. */
  nextPollAt(now: number): number {
    const tokens = this.tokensNow(now);
    const byRate = tokens >= 1 ? now : now + (1 - tokens) * this.options.minIntervalMs;
    return Math.max(byRate, this.pausedUntil);
  }

  started(now: number): void {
    this.tokens = this.tokensNow(now) - 1;
    this.tokensAt = now;
  }

  /** An answer worth having: a change, or a long-poll held as long as asked. */
  answered(): void {
    this.strikes = 0;
    this.pausedUntil = -Infinity;
  }

  /** A failure, or an answer that came back at once with nothing new: back off from `now`. */
  struck(now: number): void {
    const { backoffMs, maxBackoffMs, random } = this.options;
    const full = Math.min(backoffMs * 2 ** Math.min(this.strikes, 30), maxBackoffMs);
    this.strikes++;
    // "Equal jitter": never less than half the backoff, spread over the other half.
    this.pausedUntil = now + full / 2 + (random() * full) / 2;
  }
}
