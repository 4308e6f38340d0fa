// The lab's time-to-shell benchmark (scripts/lab/src/bench-time-to-shell.ts),
// run as it is, as a subprocess. It measures our time to shell and `support
// command` next to their stock OpenSSH floors and writes them with `--json
// FILE` ({comparisons: [{measure, ours, floor, ratio}]}); a version without
// --json prints "min X s, median Y s, max Z s" lines, read instead.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT, missingLab } from "@support-tunnel/lab";
import type { BenchContext, MeasureResult, MetricResult } from "../measure";
import type { Summary } from "../stats";

const SCRIPT = path.join(REPO_ROOT, "scripts", "lab", "dist", "bench-time-to-shell.js");

/** The goals of issue 14 for what the lab benchmark measures, by its measure's name. */
const GOALS: {
  match: RegExp;
  goal: string;
  met: (median: number, ratio: number | null) => boolean;
}[] = [
  {
    match: /time to shell/i,
    goal: "≤ 1.2 s and ≤ 1.7× the floor",
    met: (median, ratio) => median <= 1.2 && (ratio === null || ratio <= 1.7),
  },
  {
    match: /command/i,
    goal: "≤ 1.0× the floor",
    met: (_median, ratio) => ratio !== null && ratio <= 1.0,
  },
];

interface Comparison {
  measure: string;
  ours: Summary;
  floor: Summary | null;
}
interface Parsed {
  name: string;
  summary: Summary;
}

/** Every "<label> ... min X s, median Y s, max Z s" line of the output. */
export function parseSummaries(output: string): Parsed[] {
  const found: Parsed[] = [];
  for (const line of output.split("\n")) {
    const match = /^(.*?)[:\s]*min ([\d.]+) ?s, median ([\d.]+) ?s, max ([\d.]+) ?s/.exec(
      line.trim(),
    );
    if (!match) continue;
    found.push({
      name: match[1]!.replace(/\s*over \d+ runs\s*$/, "").trim() || "time to shell",
      summary: { min: Number(match[2]), median: Number(match[3]), max: Number(match[4]), runs: [] },
    });
  }
  return found;
}

function run(args: string[], ctx: BenchContext): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (d: Buffer) => {
      output += d.toString();
      for (const line of d.toString().split("\n")) {
        if (line.trim()) ctx.log(`time-to-shell: ${line.trim()}`);
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, output }));
  });
}

function fromText(output: string): Comparison[] {
  const summaries = parseSummaries(output);
  const floor = summaries.find((s) => /floor|openssh|stock/i.test(s.name)) ?? null;
  return summaries
    .filter((s) => s !== floor)
    .map((s) => ({ measure: s.name, ours: s.summary, floor: floor?.summary ?? null }));
}

export async function timeToShell(ctx: BenchContext): Promise<MeasureResult> {
  const description = `the lab's ${path.relative(REPO_ROOT, SCRIPT)} ${ctx.runs}, as a subprocess: time to shell (from \`support create\` starting to the first output of \`support command\`) and \`support command\`, each beside its stock OpenSSH floor`;
  const missing = missingLab();
  if (missing) return { name: "time-to-shell", description, metrics: [], skipped: missing };
  const tmp = mkdtempSync(path.join(os.tmpdir(), "st-bench-"));
  let comparisons: Comparison[];
  try {
    const jsonFile = path.join(tmp, "time-to-shell.json");
    let result = await run([String(ctx.runs), "--json", jsonFile], ctx);
    // A version of the lab benchmark without --json refuses it as a usage error.
    if (result.code === 2) result = await run([String(ctx.runs)], ctx);
    if (result.code !== 0) {
      throw new Error(`bench-time-to-shell exited ${result.code}:\n${result.output}`);
    }
    let fromJson: Comparison[] | null = null;
    try {
      fromJson = (JSON.parse(readFileSync(jsonFile, "utf8")) as { comparisons: Comparison[] })
        .comparisons;
    } catch {
      fromJson = null;
    }
    comparisons = fromJson ?? fromText(result.output);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (comparisons.length === 0) throw new Error("no figures in the lab benchmark's output");
  const metrics = comparisons.map((c): MetricResult => {
    const ratio = c.floor ? c.ours.median / c.floor.median : null;
    const goal = GOALS.find((g) => g.match.test(c.measure));
    return {
      metric: c.measure,
      unit: "s",
      better: "lower",
      subject: c.ours,
      floor: c.floor,
      ratio,
      ...(goal ? { goal: goal.goal, met: goal.met(c.ours.median, ratio) } : {}),
    };
  });
  return { name: "time-to-shell", description, metrics };
}
