// Start-up of the CLIs (`--help`: parse, print, exit) next to `node -e 0`.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT } from "@support-tunnel/lab";
import type { BenchContext, MeasureResult, MetricResult } from "../measure";
import { ratio, summarize } from "../stats";

function timed(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`node ${args.join(" ")} exited ${code}`));
      else resolve((performance.now() - started) / 1000);
    });
  });
}

export async function cliStartup(ctx: BenchContext): Promise<MeasureResult> {
  const subjects = {
    "support --help": [path.join(REPO_ROOT, "admin", "dist", "bin.js"), "--help"],
    "support-device --help": [path.join(REPO_ROOT, "device", "dist", "bin.js"), "--help"],
  };
  const floorArgs = ["-e", "0"];
  const floor: number[] = [];
  const times: Record<string, number[]> = Object.fromEntries(
    Object.keys(subjects).map((k) => [k, []]),
  );
  // One warm-up each: the first start also pays for reading files into the page cache.
  for (const args of [floorArgs, ...Object.values(subjects)]) await timed(args);
  const runs = Math.max(ctx.runs, 10);
  for (let r = 0; r < runs; r++) {
    floor.push(await timed(floorArgs));
    for (const [name, args] of Object.entries(subjects)) times[name]!.push(await timed(args));
  }
  const floorSummary = summarize(floor);
  const metrics: MetricResult[] = Object.entries(times).map(([name, values]) => {
    const subject = summarize(values);
    const r = ratio(subject, floorSummary);
    return {
      metric: name,
      unit: "s",
      better: "lower",
      subject,
      floor: floorSummary,
      ratio: r,
      goal: "≤ 1.5× node -e 0",
      met: r <= 1.5,
    };
  });
  ctx.log(
    `cli-startup: node -e 0 ${floorSummary.median.toFixed(3)} s; ` +
      metrics.map((m) => `${m.metric} ${m.subject.median.toFixed(3)} s`).join("; "),
  );
  return {
    name: "cli-startup",
    description: `wall time of each CLI's --help vs node -e 0, ${runs} runs each, alternating, after one warm-up`,
    metrics,
  };
}
