// The device's poll, GET /v1/device/tunnel (no wait), with 50 keep-alive
// connections back to back: the api on PostgreSQL vs node:http + pg doing the
// same lookup (token hash → the tunnel's row → a JSON view).
import { createTestDatabase } from "@support-tunnel/testkit";
import { closedLoop, request, type LoadResult } from "../http-load";
import type { BenchContext, MeasureResult } from "../measure";
import { startApi, startFloor, type Server } from "../servers";
import { percentile, ratio, summarize } from "../stats";
import { requestTunnels } from "./tunnels";

const CONNECTIONS = 50;
const RUN_MS = 3000;

export async function devicePoll(ctx: BenchContext): Promise<MeasureResult> {
  const db = await createTestDatabase();
  let api: Server | null = null;
  let floor: Server | null = null;
  try {
    api = await startApi(db.url);
    floor = await startFloor("device-poll", db.url);
    const tunnels = await requestTunnels(api.url, CONNECTIONS);
    const load = (server: Server) =>
      closedLoop(
        CONNECTIONS,
        RUN_MS,
        (agent, i) =>
          request(agent, `${server.url}/v1/device/tunnel`, {
            headers: { authorization: `Bearer ${tunnels[i]!.token}` },
          }),
        percentile,
      );
    // Warm both up (JIT, pools) before counting.
    await load(api);
    await load(floor);
    const apiRuns: LoadResult[] = [];
    const floorRuns: LoadResult[] = [];
    for (let r = 0; r < ctx.runs; r++) {
      const order = r % 2 === 0 ? [api, floor] : [floor, api];
      for (const server of order) {
        const result = await load(server);
        if (result.errors) throw new Error(`device-poll: ${result.errors} failed requests`);
        (server === api ? apiRuns : floorRuns).push(result);
        ctx.log(
          `device-poll run ${r + 1}/${ctx.runs} ${server === api ? "api" : "floor"}: ` +
            `${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(1)} ms`,
        );
      }
    }
    const throughput = summarize(apiRuns.map((r) => r.requestsPerSecond));
    const floorThroughput = summarize(floorRuns.map((r) => r.requestsPerSecond));
    const p99 = summarize(apiRuns.map((r) => r.p99Ms));
    const floorP99 = summarize(floorRuns.map((r) => r.p99Ms));
    const throughputRatio = ratio(throughput, floorThroughput);
    return {
      name: "device-poll",
      description: `GET /v1/device/tunnel, ${CONNECTIONS} keep-alive connections back to back for ${RUN_MS / 1000} s, api on PostgreSQL (request logs off) vs node:http + pg doing the same lookup`,
      metrics: [
        {
          metric: "throughput",
          unit: "req/s",
          better: "higher",
          subject: throughput,
          floor: floorThroughput,
          ratio: throughputRatio,
          goal: "≥ 0.6× the floor",
          met: throughputRatio >= 0.6,
        },
        {
          metric: "latency p99",
          unit: "ms",
          better: "lower",
          subject: p99,
          floor: floorP99,
          ratio: ratio(p99, floorP99),
        },
      ],
    };
  } finally {
    await api?.stop();
    await floor?.stop();
    await db.drop();
  }
}
