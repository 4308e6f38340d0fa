import assert from "node:assert/strict";
import type { TunnelRepository } from "../repositories/tunnel.repository";
import { MetricsService } from "./metrics.service";
import type { TunnelWatcher } from "./tunnel-watcher.service";

describe("MetricsService", () => {
  it("keeps long-polls out of the request latency histogram, in one of their own", async () => {
    const sut = new MetricsService(
      { countByState: async () => [] } as unknown as TunnelRepository,
      { waiting: 0 } as unknown as TunnelWatcher,
    );
    sut.observe("GET", "/v1/device/tunnel", 200, 0.002);
    sut.observe("GET", "/v1/device/tunnel", 200, 29.5, true);
    const text = await sut.render();
    const count = (name: string) =>
      Number(new RegExp(`^${name}_count\\{[^}]*\\} (\\d+)$`, "m").exec(text)?.[1]);
    assert.equal(count("support_api_http_request_duration_seconds"), 1);
    assert.equal(count("support_api_long_poll_duration_seconds"), 1);
    assert.match(text, /support_api_http_requests_total\{[^}]*\} 2$/m);
    // The answer held 29.5 s is nowhere in the request latencies.
    assert.match(text, /support_api_http_request_duration_seconds_sum\{[^}]*\} 0\.002$/m);
  });
});
