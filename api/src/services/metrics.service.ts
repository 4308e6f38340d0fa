// Prometheus metrics: request counts and latencies, and tunnels by state (read
// from the database at scrape time, so every replica reports the same truth).
import { Injectable } from "@nestjs/common";
import { stateFromRank, TUNNEL_STATES } from "@support-tunnel/common";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { TunnelRepository } from "../repositories/tunnel.repository";
import { TunnelWatcher } from "./tunnel-watcher.service";

@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly requests: Counter<"method" | "route" | "status">;
  private readonly latency: Histogram<"method" | "route">;
  private readonly longPolls: Histogram<"route">;
  /** The labelled series of each (method, route, status, long-poll or not) seen so far. */
  private readonly series = new Map<
    string,
    { count: { inc(): void }; time: { observe(value: number): void } }
  >();

  constructor(tunnels: TunnelRepository, watcher: TunnelWatcher) {
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: "support_api_http_requests_total",
      help: "HTTP requests answered, by method, route and status",
      labelNames: ["method", "route", "status"],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: "support_api_http_request_duration_seconds",
      help: "HTTP request latency, by method and route (long-polls apart: their wait would drown it)",
      labelNames: ["method", "route"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.longPolls = new Histogram({
      name: "support_api_long_poll_duration_seconds",
      help: "How long long-polls (?wait=) were held before their answer, by route",
      labelNames: ["route"],
      buckets: [0.01, 0.1, 0.5, 1, 5, 10, 20, 30, 35],
      registers: [this.registry],
    });
    new Gauge({
      name: "support_api_tunnels",
      help: "Tunnels by state",
      labelNames: ["state"],
      registers: [this.registry],
      async collect() {
        const counts = await tunnels.countByState();
        for (const state of TUNNEL_STATES) this.set({ state }, 0);
        for (const { state, count } of counts) this.set({ state: stateFromRank(state) }, count);
      },
    });
    new Gauge({
      name: "support_api_long_polls_waiting",
      help: "Long-poll requests (?wait=) being held right now",
      registers: [this.registry],
      collect() {
        this.set(watcher.waiting);
      },
    });
  }

  /**
   * One answered request; a long-poll's time goes to its own histogram. The
   * labelled series are looked up once per (method, route, status), not hashed
   * from a label object on every request as prom-client would.
   */
  observe(method: string, route: string, status: number, seconds: number, longPoll = false): void {
    const key = `${method} ${route} ${status} ${longPoll ? "long" : "short"}`;
    let series = this.series.get(key);
    if (!series) {
      series = {
        count: this.requests.labels(method, route, String(status)),
        time: longPoll ? this.longPolls.labels(route) : this.latency.labels(method, route),
      };
      this.series.set(key, series);
    }
    series.count.inc();
    series.time.observe(seconds);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
