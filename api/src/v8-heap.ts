// Imported first by bin.ts: how far V8 lets the api's heap grow past what it holds.
import { setFlagsFromString } from "node:v8";

/**
 * After each full GC, V8 lets the old generation grow to up to 4× what survived
 * it before the next one when allocation is fast, as it is while thousands of
 * devices renew their long-polls. A held long-poll keeps ~7.4 KiB alive (heap
 * snapshots at 0 and 2000 held), so 19k held are ~175 MiB of live heap, yet the
 * process read 417–467 MiB or 858–913 MiB of RSS, by whether a full GC had come
 * in before the reading (BENCHMARKS.md, 2026-12-02 19:20). At 1.5× the old
 * generation follows the live heap: 402–430 MiB in every run. The price is more
 * full GCs while devices arrive: the wake-up p99 at 19k went from 19.5 to
 * 30.1 ms (the goal is 50). V8 reads the flag at each GC, so setting it at run
 * time is enough; one given on node's command line is left as it is.
 */
const HEAP_GROWING_PERCENT = 50;

if (!process.execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg)))
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
