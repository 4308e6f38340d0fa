// The idle device agent: the real `support-device agent` against the real api
// on PostgreSQL, with no tunnel and with one tunnel waiting for approval (its
// long-poll held by the api), next to an idle node process. Each run starts
// the process, lets it settle, then samples its resident memory and how often
// any of its threads was switched in (its wake-ups) from /proc.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "@support-tunnel/lab";
import { createTestDatabase } from "@support-tunnel/testkit";
import type { BenchContext, MeasureResult, MetricResult } from "../measure";
import { rssMiB } from "../process-usage";
import { startApi, type Server } from "../servers";
import { ratio, summarize } from "../stats";

const DEVICE_BIN = path.join(REPO_ROOT, "device", "dist", "bin.js");
/**
 * What the systemd unit runs (`ExecStart=/usr/local/bin/support-device agent`,
 * npm's link to this file): the agent is started through it, shebang and all,
 * so the node flags it sets are measured too.
 */
const DEVICE_LAUNCHER = path.join(REPO_ROOT, "device", "bin", "support-device.js");
/**
 * Long enough for what follows a start to die out: V8's memory reducer runs a
 * few GCs (each a burst of its helper threads' wake-ups) in the first ~25 s
 * after the last activity, then stops. Not periodic, but a 5 s settle put them
 * in the window, where they drowned what the measure is after.
 */
const SETTLE_MS = 30_000;
/**
 * With a tunnel the agent asks for 25 s long-polls right after its first look:
 * the first is answered inside the settle time, and the window, 30 to 42 s
 * after that look, falls inside the second, held by the api.
 */
const SAMPLE_MS = 12_000;
const GOAL_RSS_MIB = 45;
/** Less than one wake-up in five seconds beyond an idle node's: nothing periodic. */
const WAKE_UP_ALLOWANCE = 0.2;

interface Sample {
  rssMiB: number;
  wakeUpsPerSecond: number;
}

/** Context switches of every thread of `pid` so far: each one is the thread going to sleep or being put off the CPU. */
function contextSwitches(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/task/${task}/status`, "utf8");
    } catch {
      continue; // a thread that ended in between
    }
    for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm))
      total += Number(m[1]);
  }
  return total;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `command` with `args`, waits until its stderr shows `ready` (if given), settles, samples, stops it. */
async function sampleProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp | null,
): Promise<Sample> {
  const child: ChildProcess = spawn(command, args, {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(
        () => reject(new Error(`not ready within 30 s: ${output.slice(-2000)}`)),
        30_000,
      );
      const check = () => {
        if (ready === null || ready.test(output)) {
          clearTimeout(timeout);
          resolve();
        }
      };
      child.stderr!.on("data", (d: Buffer) => {
        output += d.toString();
        check();
      });
      child.once("exit", (code) => {
        clearTimeout(timeout);
        reject(new Error(`exited (${code}) before it was ready: ${output.slice(-2000)}`));
      });
      check();
    });
    await sleep(SETTLE_MS);
    const pid = child.pid!;
    const before = contextSwitches(pid);
    const started = performance.now();
    await sleep(SAMPLE_MS);
    const switches = contextSwitches(pid) - before;
    const seconds = (performance.now() - started) / 1000;
    const sample = { rssMiB: rssMiB(pid), wakeUpsPerSecond: switches / seconds };
    if (child.exitCode !== null) throw new Error(`exited while sampled: ${output.slice(-2000)}`);
    return sample;
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

/** A device of its own: a state dir, a log dir and an empty config file (root's, 0600). */
function deviceDirs(root: string, name: string, apiUrl: string): NodeJS.ProcessEnv {
  const dir = path.join(root, name);
  const config = path.join(dir, "device.json");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stateDir = path.join(dir, "state");
  const logDir = path.join(dir, "log");
  writeFileSync(config, "{}\n", { mode: 0o600, flag: "w" });
  return {
    ...process.env,
    SUPPORT_DEVICE_CONFIG: config,
    SUPPORT_STATE_DIR: stateDir,
    SUPPORT_LOG_DIR: logDir,
    SUPPORT_API_URL: apiUrl,
  };
}

async function requestTunnel(env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, [DEVICE_BIN, "request", "--json"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`support-device request exited ${code}: ${stderr}`);
  return (JSON.parse(stdout) as { tunnelId: string }).tunnelId;
}

function metric(
  name: string,
  unit: string,
  values: number[],
  floor: number[],
  goal: string,
  met: (median: number, floorMedian: number) => boolean,
): MetricResult {
  const subject = summarize(values);
  const floorSummary = summarize(floor);
  return {
    metric: name,
    unit,
    better: "lower",
    subject,
    floor: floorSummary,
    ratio: ratio(subject, floorSummary),
    goal,
    met: met(subject.median, floorSummary.median),
  };
}

export async function agentIdle(ctx: BenchContext): Promise<MeasureResult> {
  if (process.getuid?.() !== 0) {
    return {
      name: "agent-idle",
      description: "",
      metrics: [],
      skipped: "support-device runs as root only",
    };
  }
  const db = await createTestDatabase();
  const root = mkdtempSync(path.join(os.tmpdir(), "bench-agent-idle-"));
  let api: Server | null = null;
  try {
    api = await startApi(db.url);
    const sides = {
      floor: {
        command: process.execPath,
        args: ["-e", "setInterval(() => {}, 1 << 30)"],
        env: process.env,
        ready: null as RegExp | null,
      },
      "no tunnel": {
        command: DEVICE_LAUNCHER,
        args: ["agent"],
        env: deviceDirs(root, "none", api.url),
        ready: /support-device agent watching/,
      },
      "one tunnel": {
        command: DEVICE_LAUNCHER,
        args: ["agent"],
        env: deviceDirs(root, "one", api.url),
        ready: null as RegExp | null,
      },
    };
    const tunnelId = await requestTunnel(sides["one tunnel"].env);
    // Its first look answered; the long-poll after it is the one the sample sees.
    sides["one tunnel"].ready = new RegExp(`tunnel ${tunnelId}: [a-z]+\n`);
    const samples: Record<keyof typeof sides, Sample[]> = {
      floor: [],
      "no tunnel": [],
      "one tunnel": [],
    };
    const names = Object.keys(sides) as (keyof typeof sides)[];
    for (let r = 0; r < ctx.runs; r++) {
      // Which side goes first alternates.
      const order = r % 2 === 0 ? names : [...names].reverse();
      for (const name of order) {
        const side = sides[name];
        const sample = await sampleProcess(side.command, side.args, side.env, side.ready);
        samples[name].push(sample);
        ctx.log(
          `agent-idle run ${r + 1}/${ctx.runs} ${name}: ${sample.rssMiB.toFixed(1)} MiB, ` +
            `${sample.wakeUpsPerSecond.toFixed(2)} wake-ups/s`,
        );
      }
    }
    const floorRss = samples.floor.map((s) => s.rssMiB);
    const floorWakeUps = samples.floor.map((s) => s.wakeUpsPerSecond);
    const metrics: MetricResult[] = [];
    for (const name of ["no tunnel", "one tunnel"] as const) {
      metrics.push(
        metric(
          `RSS, ${name}`,
          "MiB",
          samples[name].map((s) => s.rssMiB),
          floorRss,
          `≤ ${GOAL_RSS_MIB} MiB`,
          (median) => median <= GOAL_RSS_MIB,
        ),
        metric(
          `wake-ups, ${name}`,
          "/s",
          samples[name].map((s) => s.wakeUpsPerSecond),
          floorWakeUps,
          `none periodic: ≤ the idle node's + ${WAKE_UP_ALLOWANCE}/s`,
          (median, floorMedian) => median <= floorMedian + WAKE_UP_ALLOWANCE,
        ),
      );
    }
    return {
      name: "agent-idle",
      description:
        `support-device agent (no --ui, started as the unit does: device/bin/support-device.js and its shebang) against the api on PostgreSQL, with no tunnel and with one waiting for approval ` +
        `(sampled inside its held long-poll), vs an idle node (setInterval of 2^30 ms); each run starts the process, ` +
        `settles ${SETTLE_MS / 1000} s, then samples ${SAMPLE_MS / 1000} s: VmRSS at the end, and context switches of ` +
        `all its threads (voluntary + nonvoluntary) per second; ${ctx.runs} runs each, alternating`,
      metrics,
    };
  } finally {
    await api?.stop();
    await db.drop();
    rmSync(root, { recursive: true, force: true });
  }
}
