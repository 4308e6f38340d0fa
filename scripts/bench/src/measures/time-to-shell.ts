// The lab's time-to-shell benchmark (scripts/lab/src/bench-time-to-shell.ts),
// run as it is, as a subprocess: its figures are read from its output, a JSON
// line if it prints one ({"timeToShell": {...}, "floor": {...}} or similar
// min/median/max objects), otherwise its "min X s, median Y s, max Z s" lines.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT, missingLab } from "@support-tunnel/lab";
import type { BenchContext, MeasureResult, MetricResult } from "../measure";
import type { Summary } from "../stats";

const SCRIPT = path.join(REPO_ROOT, "scripts", "lab", "dist", "bench-time-to-shell.js");

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

export async function timeToShell(ctx: BenchContext): Promise<MeasureResult> {
  const description = `the lab's time to shell (${path.relative(REPO_ROOT, SCRIPT)} ${ctx.runs}), from \`support create\` starting to the first output of \`support command <id> -- hostname\``;
  const missing = missingLab();
  if (missing) return { name: "time-to-shell", description, metrics: [], skipped: missing };
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, String(ctx.runs)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      for (const line of d.toString().split("\n"))
        if (line.trim()) ctx.log(`time-to-shell: ${line.trim()}`);
    });
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`bench-time-to-shell exited ${code}:\n${out}`)),
    );
  });
  const summaries = parseSummaries(output);
  const subject = summaries.find((s) => !/floor|openssh|stock/i.test(s.name));
  const floor = summaries.find((s) => /floor|openssh|stock/i.test(s.name)) ?? null;
  if (!subject) throw new Error(`no time to shell in the lab benchmark's output:\n${output}`);
  const ratio = floor ? subject.summary.median / floor.summary.median : null;
  const metrics: MetricResult[] = [
    {
      metric: "time to shell",
      unit: "s",
      better: "lower",
      subject: subject.summary,
      floor: floor?.summary ?? null,
      ratio,
      goal: "≤ 1.2 s and ≤ 1.7× the floor",
      met: subject.summary.median <= 1.2 && (ratio === null || ratio <= 1.7),
    },
    // Any other figures it prints (e.g. `support command` vs OpenSSH), as they come.
    ...summaries
      .filter((s) => s !== subject && s !== floor)
      .map((s): MetricResult => ({
        metric: s.name,
        unit: "s",
        better: "lower",
        subject: s.summary,
        floor: null,
        ratio: null,
      })),
  ];
  return { name: "time-to-shell", description, metrics };
}
