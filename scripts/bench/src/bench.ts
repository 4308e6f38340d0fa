// `npm run bench`: each measure next to its floor in the same run, alternating,
// at least 5 runs each; prints min / median / max and the ratio, and writes the
// figures with the machine's load to bench-results.json. Not part of npm test.
//
//   npm run bench                                  every measure, 5 runs, 2000 long-polls
//   npm run bench -- --only device-poll,cli-startup --runs 7
//   npm run bench -- --only agent-idle            the idle device agent (root)
//   BENCH_LONG_POLLS=19000 npm run bench -- --only long-polls
import { writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "@support-tunnel/lab";
import type { BenchContext, MeasureResult, MetricResult } from "./measure";
import { agentIdle } from "./measures/agent-idle";
import { cliStartup } from "./measures/cli-startup";
import { devicePoll } from "./measures/device-poll";
import { longPolls } from "./measures/long-polls";
import { timeToShell } from "./measures/time-to-shell";

const MEASURES: Record<string, (ctx: BenchContext) => Promise<MeasureResult>> = {
  "agent-idle": agentIdle,
  "cli-startup": cliStartup,
  "device-poll": devicePoll,
  "long-polls": longPolls,
  "time-to-shell": timeToShell,
};

const USAGE = `usage: npm run bench -- [--only ${Object.keys(MEASURES).join(",")}] [--runs N≥5] [--long-polls N] [--out FILE]
  BENCH_LONG_POLLS=N also sets the long-polls held (default 2000; 19000 is this machine's file limit)`;

export interface BenchOptions {
  only: string[];
  runs: number;
  longPolls: number;
  out: string;
}

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const options: BenchOptions = {
    only: Object.keys(MEASURES),
    runs: 5,
    longPolls: Number(env.BENCH_LONG_POLLS ?? 2000),
    out: path.join(REPO_ROOT, "bench-results.json"),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (flag === "--help" || flag === "-h") throw new UsageError(USAGE);
    if (value === undefined) throw new UsageError(`${flag}: missing value\n${USAGE}`);
    i++;
    if (flag === "--only") options.only = value.split(",").map((s) => s.trim());
    else if (flag === "--runs") options.runs = Number(value);
    else if (flag === "--long-polls") options.longPolls = Number(value);
    else if (flag === "--out") options.out = path.resolve(value);
    else throw new UsageError(`unknown flag ${flag}\n${USAGE}`);
  }
  const unknown = options.only.filter((name) => !(name in MEASURES));
  if (unknown.length) throw new UsageError(`unknown measure ${unknown.join(", ")}\n${USAGE}`);
  if (!Number.isInteger(options.runs) || options.runs < 5) {
    throw new UsageError(`--runs: a whole number ≥ 5\n${USAGE}`);
  }
  if (
    !Number.isInteger(options.longPolls) ||
    options.longPolls < 400 ||
    options.longPolls > 19_500
  ) {
    throw new UsageError(
      `--long-polls / BENCH_LONG_POLLS: a whole number from 400 to 19500\n${USAGE}`,
    );
  }
  return options;
}

function fmt(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "–";
  const digits = unit === "s" ? 3 : Math.abs(value) >= 100 ? 0 : 1;
  return value.toFixed(digits);
}

function line(m: MetricResult): string {
  const range = (s: { min: number; median: number; max: number }) =>
    `${fmt(s.min, m.unit)} / ${fmt(s.median, m.unit)} / ${fmt(s.max, m.unit)}`;
  const goal = m.goal ? `  goal ${m.goal}: ${m.met ? "met" : "NOT met"}` : "";
  return (
    `  ${m.metric} (${m.unit}, ${m.better} is better)\n` +
    `    measure min/median/max ${range(m.subject)}` +
    (m.floor
      ? `\n    floor   min/median/max ${range(m.floor)}\n    ratio ${
          // A floor of 0 (an idle node's wake-ups) has no ratio to speak of.
          Number.isFinite(m.ratio) ? `${m.ratio!.toFixed(2)}×` : "– (the floor is 0)"
        }`
      : "") +
    goal
  );
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return err.message === USAGE ? 0 : 2;
  }
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const ctx: BenchContext = { runs: options.runs, longPolls: options.longPolls, log };
  const startedAt = new Date().toISOString();
  const loadBefore = os.loadavg();
  const results: MeasureResult[] = [];
  let failed = false;
  for (const name of options.only) {
    log(`== ${name}`);
    try {
      const result = await MEASURES[name]!(ctx);
      results.push(result);
      process.stdout.write(`\n${result.name}: ${result.description}\n`);
      if (result.skipped) process.stdout.write(`  skipped: ${result.skipped}\n`);
      for (const m of result.metrics) process.stdout.write(`${line(m)}\n`);
    } catch (err) {
      failed = true;
      const message = err instanceof Error ? err.message : String(err);
      log(`${name} failed: ${message}`);
      results.push({ name, description: "", metrics: [], skipped: `failed: ${message}` });
    }
  }
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    kernel: os.release(),
    loadavgBefore: loadBefore,
    loadavgAfter: os.loadavg(),
  };
  writeFileSync(
    options.out,
    `${JSON.stringify({ startedAt, finishedAt: new Date().toISOString(), options, machine, results }, null, 2)}\n`,
  );
  process.stdout.write(
    `\nload average (1/5/15 min) before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${machine.loadavgAfter.map((l) => l.toFixed(2)).join(" ")} on ${machine.cpus} cores\n` +
      `figures written to ${path.relative(process.cwd(), options.out) || options.out}\n`,
  );
  return failed ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
