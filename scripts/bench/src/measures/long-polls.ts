// Held device long-polls on one api process on PostgreSQL, next to a bare
// node:http server holding as many in memory: memory and CPU while they wait,
// database transactions per second while they wait, and how long a change
// takes to reach its waiter (from sending the change to the woken answer).
import * as http from "node:http";
import {
  createTestDatabase,
  mapLimit,
  queryDatabase,
  TEST_DATABASE_URL,
} from "@support-tunnel/testkit";
import { request } from "../http-load";
import type { BenchContext, MeasureResult } from "../measure";
import { cpuPercentOver, rssMiB } from "../process-usage";
import { startApi, startFloor, type Server } from "../servers";
import { percentile, ratio, summarize } from "../stats";
import { requestTunnels, type BenchTunnel } from "./tunnels";

/** Changes per run whose wake-up is timed (the other long-polls keep waiting). */
const WAKE_SAMPLE = 200;
const HOLD_WINDOW_MS = 3000;
/**
 * How long the polls still held are left alone before the database's window:
 * the api writes the last requests of the arrivals and the wake-ups within
 * 5 s (LastRequests), and PostgreSQL counts a backend's transactions up to
 * 10 s late; neither is the waiting's. Shortened when the polls' 30 s would
 * run out first.
 */
const SETTLE_MS = 11_000;
/**
 * The held polls come from this many loopback addresses (127.0.0.2 on), as
 * many devices come from many. From one address, the connects beyond the
 * ~14k ports of the kernel's preferred half each search the port range:
 * ~1 ms per connect in the placing, ~3.7 ms per new connection of the
 * wake-ups' changes, on both sides. Every 127/8 address is this host's.
 */
const HOLDER_ADDRESSES = 4;
/** A held poll ends unchanged after this (?wait=30), and is made again. */
const HOLD_MS = 30_000;
/** Kept free before the first held poll ends: the database's window and a margin. */
const BEFORE_EXPIRY_MS = HOLD_WINDOW_MS + 1_000;

interface RunFigures {
  rssMiB: number;
  cpuPercent: number;
  dbTransactionsPerSecond: number | null;
  wakeP50Ms: number;
  wakeP99Ms: number;
  /** How long the held polls were left alone before the window (see SETTLE_MS). */
  settledMs: number;
}

interface Side {
  holdUrl(t: BenchTunnel): string;
  holdHeaders(t: BenchTunnel): Record<string, string>;
  change(agent: http.Agent, t: BenchTunnel): Promise<unknown>;
  waiting(): Promise<number>;
}

async function transactions(dbName: string): Promise<number> {
  const [row] = await queryDatabase(
    TEST_DATABASE_URL,
    "SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database WHERE datname = $1",
    [dbName],
  );
  return Number(row?.n ?? 0);
}

async function until(what: string, check: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function oneRun(
  server: Server,
  side: Side,
  held: BenchTunnel[],
  sample: BenchTunnel[],
  dbName: string | null,
): Promise<RunFigures> {
  const holders = Array.from(
    { length: HOLDER_ADDRESSES },
    (_, i) =>
      new http.Agent({ keepAlive: true, maxSockets: Infinity, localAddress: `127.0.0.${2 + i}` }),
  );
  const control = new http.Agent({ keepAlive: true, maxSockets: 10 });
  // The held requests end when their connections are reset (below), not by
  // an AbortSignal: with one signal for all, each answered request removed its
  // listener from 19k (~8 ms a wake-up, paid by the bench).
  let letGo = false;
  const changeSent = new Set<string>();
  const answeredAt = new Map<string, Promise<number>>();
  for (const [i, t] of [...held, ...sample].entries()) {
    const holder = holders[i % HOLDER_ADDRESSES]!;
    // As a device does: a long-poll that ends unchanged (its 30 s ran out) is made again.
    const hold = async (): Promise<number> => {
      for (;;) {
        if (letGo) return Number.NaN;
        try {
          await request(holder, side.holdUrl(t), { headers: side.holdHeaders(t) });
        } catch {
          // As a device does, a failed long-poll is made again: one reset connection
          // otherwise leaves the count short of the total until the wait gives up.
          if (letGo) return Number.NaN;
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        if (changeSent.has(t.tunnelId)) return performance.now();
      }
    };
    answeredAt.set(t.tunnelId, hold());
  }
  const total = held.length + sample.length;
  const placedAt = Date.now();
  try {
    await until(
      `${total} long-polls held`,
      async () => (await side.waiting()) >= total,
      120_000 + total * 20,
    );
    const rss = rssMiB(server.pid);
    const cpu = await cpuPercentOver(server.pid, HOLD_WINDOW_MS);
    const latencies = await mapLimit(sample, 10, async (t) => {
      const sent = performance.now();
      changeSent.add(t.tunnelId);
      await side.change(control, t);
      return (await answeredAt.get(t.tunnelId)!) - sent;
    });
    // The database's window comes last, after the arrivals' and the wake-ups'
    // own transactions are written and counted, while the others still wait.
    const settledMs = Math.max(
      0,
      Math.min(SETTLE_MS, placedAt + HOLD_MS - BEFORE_EXPIRY_MS - Date.now()),
    );
    await new Promise((resolve) => setTimeout(resolve, settledMs));
    const tx0 = dbName ? await transactions(dbName) : 0;
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, HOLD_WINDOW_MS));
    const tx1 = dbName ? await transactions(dbName) : 0;
    const dbRate = dbName ? (tx1 - tx0) / ((performance.now() - t0) / 1000) : null;
    return {
      rssMiB: rss,
      cpuPercent: cpu,
      dbTransactionsPerSecond: dbRate,
      wakeP50Ms: percentile(latencies, 50),
      wakeP99Ms: percentile(latencies, 99),
      settledMs,
    };
  } finally {
    letGo = true;
    // Reset, not closed: a closed connection keeps its port in TIME_WAIT for a
    // minute, and the next run's 19k would then share the port range with this
    // run's 19k, so that each connect searched it for a free port (~3 ms each,
    // on both sides, in the placing and in the wake-ups' first connects). Every
    // held request has its socket here (loopback addresses connect at once).
    for (const holder of holders) {
      for (const socket of Object.values(holder.sockets).flat()) socket?.resetAndDestroy();
      holder.destroy();
    }
    control.destroy();
    await until("the long-polls let go", async () => (await side.waiting()) === 0);
  }
}

async function metricValue(url: string, name: string): Promise<number> {
  const agent = new http.Agent();
  const answer = await request(agent, `${url}/metrics`);
  agent.destroy();
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(answer.body);
  return Number(match?.[1] ?? 0);
}

export async function longPolls(ctx: BenchContext): Promise<MeasureResult> {
  const count = ctx.longPolls;
  const db = await createTestDatabase();
  let api: Server | null = null;
  let floor: Server | null = null;
  try {
    api = await startApi(db.url);
    floor = await startFloor("long-poll");
    const apiUrl = api.url;
    const floorUrl = floor.url;
    ctx.log(`long-polls: requesting ${count - WAKE_SAMPLE + ctx.runs * WAKE_SAMPLE} tunnels`);
    const tunnels = await requestTunnels(apiUrl, count - WAKE_SAMPLE + ctx.runs * WAKE_SAMPLE);
    const base = tunnels.slice(0, count - WAKE_SAMPLE);
    const apiSide: Side = {
      holdUrl: () => `${apiUrl}/v1/device/tunnel?wait=30`,
      holdHeaders: (t) => ({ authorization: `Bearer ${t.token}` }),
      // The stop as the agent sends it (common's client): a JSON body, `{}` without a reason.
      change: async (agent, t) => {
        const answer = await request(agent, `${apiUrl}/v1/device/tunnel`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" },
          body: "{}",
        });
        // A refused stop wakes nothing: its long-poll would only end with its 30 s.
        if (answer.status !== 200) {
          throw new Error(`the device's stop: ${answer.status} ${answer.body}`);
        }
        return answer;
      },
      waiting: () => metricValue(apiUrl, "support_api_long_polls_waiting"),
    };
    const floorSide: Side = {
      holdUrl: (t) => `${floorUrl}/hold/${t.tunnelId}`,
      holdHeaders: () => ({}),
      change: (agent, t) => request(agent, `${floorUrl}/change/${t.tunnelId}`, { method: "POST" }),
      waiting: async () => {
        const agent = new http.Agent();
        const answer = await request(agent, `${floorUrl}/count`);
        agent.destroy();
        return Number(answer.body);
      },
    };
    const apiRuns: RunFigures[] = [];
    const floorRuns: RunFigures[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const sample = tunnels.slice(
        base.length + r * WAKE_SAMPLE,
        base.length + (r + 1) * WAKE_SAMPLE,
      );
      // Alternating, and which goes first alternates too.
      const order = r % 2 === 0 ? ["api", "floor"] : ["floor", "api"];
      for (const which of order) {
        if (which === "api") apiRuns.push(await oneRun(api, apiSide, base, sample, db.name));
        else floorRuns.push(await oneRun(floor, floorSide, base, sample, null));
        const last = which === "api" ? apiRuns.at(-1)! : floorRuns.at(-1)!;
        ctx.log(
          `long-polls run ${r + 1}/${ctx.runs} ${which}: ${last.rssMiB.toFixed(0)} MiB, ${last.cpuPercent.toFixed(1)}% CPU, ` +
            `wake p50 ${last.wakeP50Ms.toFixed(1)} ms p99 ${last.wakeP99Ms.toFixed(1)} ms, ` +
            `settled ${(last.settledMs / 1000).toFixed(1)} s` +
            (last.dbTransactionsPerSecond === null
              ? ""
              : `, ${last.dbTransactionsPerSecond.toFixed(1)} db tx/s`),
        );
      }
    }
    const pair = (pick: (f: RunFigures) => number) => {
      const subject = summarize(apiRuns.map(pick));
      const floorSummary = summarize(floorRuns.map(pick));
      return { subject, floor: floorSummary, ratio: ratio(subject, floorSummary) };
    };
    const rss = pair((f) => f.rssMiB);
    const wakeP99 = pair((f) => f.wakeP99Ms);
    const dbRate = summarize(apiRuns.map((f) => f.dbTransactionsPerSecond ?? 0));
    return {
      name: "long-polls",
      description:
        `${count} device long-polls (GET /v1/device/tunnel?wait=30), made from ${HOLDER_ADDRESSES} loopback ` +
        `addresses, held on one api process on PostgreSQL ` +
        `vs a bare node:http server holding as many in memory; CPU over ${HOLD_WINDOW_MS / 1000} s of holding; ` +
        `database transactions from pg_stat_database over ${HOLD_WINDOW_MS / 1000} s after the wake-ups, up to ` +
        `${SETTLE_MS / 1000} s later (the last requests of the arrivals and wake-ups are written within 5 s, and ` +
        `backends report their transactions up to 10 s late), as the polls' ${HOLD_MS / 1000} s allow; ` +
        `wake-up: ${WAKE_SAMPLE} changes per run (DELETE by the device vs POST /change), 10 at a time, ` +
        `from sending the change to the woken answer`,
      metrics: [
        {
          metric: "RSS while holding",
          unit: "MiB",
          better: "lower",
          ...rss,
          goal: "≤ 500 MiB",
          met: rss.subject.median <= 500,
        },
        {
          metric: "CPU while holding",
          unit: "% of a core",
          better: "lower",
          ...pair((f) => f.cpuPercent),
        },
        {
          metric: "database transactions while holding",
          unit: "/s",
          better: "lower",
          subject: dbRate,
          floor: null,
          ratio: null,
          goal: "independent of the number held (one safety re-read per 5 s)",
          met: dbRate.median < 5,
        },
        { metric: "wake-up p50", unit: "ms", better: "lower", ...pair((f) => f.wakeP50Ms) },
        {
          metric: "wake-up p99",
          unit: "ms",
          better: "lower",
          ...wakeP99,
          goal: "≤ 50 ms",
          met: wakeP99.subject.median <= 50,
        },
      ],
    };
  } finally {
    await api?.stop();
    await floor?.stop();
    await db.drop();
  }
}
