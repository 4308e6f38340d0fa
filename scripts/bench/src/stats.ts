// Summaries of repeated figures: min / median / max over runs, percentiles
// within one run, and the ratio of a measure to its floor.

export interface Summary {
  min: number;
  median: number;
  max: number;
  runs: number[];
}

/** The `p`-th percentile (0–100) of `values`, nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(runs: readonly number[]): Summary {
  return {
    min: runs.length ? Math.min(...runs) : Number.NaN,
    median: median(runs),
    max: runs.length ? Math.max(...runs) : Number.NaN,
    runs: [...runs],
  };
}

/** Median over median: how many times the floor's figure the measure's is. */
export function ratio(subject: Summary, floor: Summary): number {
  return subject.median / floor.median;
}
