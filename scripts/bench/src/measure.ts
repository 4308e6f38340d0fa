// What a measure reports: each metric's runs next to its floor's, and the goal.
import type { Summary } from "./stats";

export interface MetricResult {
  metric: string;
  unit: string;
  /** Which way is better, so the ratio reads right. */
  better: "lower" | "higher";
  subject: Summary;
  floor: Summary | null;
  /** subject median / floor median. */
  ratio: number | null;
  goal?: string;
  met?: boolean;
}

export interface MeasureResult {
  name: string;
  /** What was measured, against what, and how. */
  description: string;
  metrics: MetricResult[];
  /** A measure that could not run says why (e.g. the lab needs root). */
  skipped?: string;
}

export interface BenchContext {
  /** Runs of each side, alternating (≥ 5). */
  runs: number;
  /** Long-polls held at once by the long-poll measure. */
  longPolls: number;
  log(line: string): void;
}

export interface Measure {
  name: string;
  run(ctx: BenchContext): Promise<MeasureResult>;
}
