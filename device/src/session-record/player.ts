// Plays a session's I/O log back: its output, in the rhythm it was recorded, to
// the customer's terminal (`support-device replay`), like `sudoreplay` does.
import { isOutput, type Iolog } from "./iolog";

export interface PlayOptions {
  /** 2: twice as fast. */
  speed: number;
  /** Longest pause, in seconds (an engineer who left a shell idle for ten minutes). */
  maxWaitS?: number;
  write(chunk: Buffer): void;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Stops the playback (Ctrl-C). */
  signal?: AbortSignal;
}

export async function playIolog(log: Iolog, options: PlayOptions): Promise<void> {
  let pendingS = 0;
  for (const event of log.events) {
    if (options.signal?.aborted) return;
    pendingS += event.delayS;
    if (event.kind !== "data" || !isOutput(event.stream)) continue;
    const waitS = Math.min(pendingS / options.speed, options.maxWaitS ?? Infinity);
    pendingS = 0;
    if (waitS > 0) await options.sleep(waitS * 1000, options.signal);
    if (options.signal?.aborted) return;
    options.write(event.data);
  }
}
