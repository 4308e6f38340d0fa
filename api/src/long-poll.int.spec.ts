import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { stateRank, SupportApiClient, TunnelState } from "@support-tunnel/common";
import { startApiProcess, type ApiProcess } from "@support-tunnel/lab";
import { Client } from "pg";
import { TunnelRepository } from "./repositories/tunnel.repository";
import { TunnelWatcher } from "./services/tunnel-watcher.service";
import { newEngineerToken } from "./services/tokens";
import {
  requestTestTunnel,
  startTestApi,
  testApprovalRequest,
  useTestDatabase,
  type TestApi,
} from "./testing/test-api";

/** No safety re-read within a test: whatever wakes a long-poll here is a notification. */
const NO_REREAD = { SUPPORT_LONG_POLL_REREAD_MS: "3600000" };

/** `promise`, or a failure saying what did not happen within `ms` (a hang guard, not a timing claim). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe("long-polls woken by the database's notifications (PostgreSQL)", function () {
  this.timeout(120_000);
  const pg = useTestDatabase();

  describe("two api processes on one database", () => {
    const adminToken = newEngineerToken();
    let one: ApiProcess | undefined;
    let two: ApiProcess | undefined;

    before(async () => {
      const env = { ...NO_REREAD, SUPPORT_BOOTSTRAP_TOKEN: adminToken, LOG_LEVEL: "warn" };
      one = await startApiProcess({ databaseUrl: pg.db.url, env });
      two = await startApiProcess({ databaseUrl: pg.db.url, env });
    });

    after(async () => {
      await one?.stop();
      await two?.stop();
    });

    it("wakes a long-poll held by one when the tunnel changes through the other", async () => {
      const { created, deviceClient: device } = await requestTestTunnel(one!.url);
      const engineerOnTwo = new SupportApiClient({
        baseUrl: two!.url,
        token: adminToken,
        retries: 0,
      });
      const held = engineerOnTwo.getTunnel(created.tunnelId, {
        waitSeconds: 30,
        since: TunnelState.Pending,
      });
      // The customer ends it through the first process.
      await device.stopDeviceTunnel("fixed it myself");
      const answer = await within(held, 20_000, "the long-poll on the other process");
      assert.equal(answer.state, TunnelState.Completed);
      assert.equal(answer.stopReason, "fixed it myself");
    });
    it("wakes a device waiting for approval the moment another process approves", async () => {
      const { created, deviceClient: device } = await requestTestTunnel(one!.url);
      const held = device.getDeviceTunnel({ waitSeconds: 30, since: TunnelState.Pending });
      await new SupportApiClient({
        baseUrl: two!.url,
        token: adminToken,
        retries: 0,
      }).approveTunnel(
        created.tunnelId,
        testApprovalRequest(created, undefined, { instanceId: "lab:lp1", engineer: "admin" }).body,
      );
      const answer = await within(held, 20_000, "the device's long-poll on the other process");
      assert.equal(answer.state, TunnelState.Started);
    });
  });

  describe("one api, many waiters", () => {
    let sut: TestApi | undefined;
    let sweeper: TestApi | undefined;
    const queries: string[] = [];
    const originalQuery = Client.prototype.query;

    before(async () => {
      sut = await startTestApi(pg.db.url, NO_REREAD);
      sweeper = await startTestApi(pg.db.url, {
        ...NO_REREAD,
        SUPPORT_BOOTSTRAP_TOKEN: sut.adminToken,
      });
      // Every statement any pg connection of this process sends, counted.
      Client.prototype.query = function (this: Client, ...args: unknown[]) {
        const sql = args[0];
        queries.push(typeof sql === "string" ? sql : String((sql as { text?: string })?.text));
        return (originalQuery as (...a: unknown[]) => ReturnType<Client["query"]>).apply(
          this,
          args,
        );
      } as Client["query"];
    });

    after(async () => {
      Client.prototype.query = originalQuery;
      await sut?.close();
      await sweeper?.close();
    });

    it("holds them without a query, re-reads them all in one, and wakes each on its own change, even a sweep elsewhere", async () => {
      const watcher = sut!.api.app.get(TunnelWatcher);
      const count = 40;
      // The first expires in a minute, the others in hours.
      const tunnels = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          requestTestTunnel(sut!.url, i === 0 ? { ttlSeconds: 60 } : {}),
        ),
      );
      const clients = tunnels.map(() => new AbortController());
      const held = tunnels.map(({ deviceClient: device }, i) =>
        device.getDeviceTunnel({ waitSeconds: 30, signal: clients[i]!.signal }).catch(() => null),
      );
      try {
        await within(
          (async () => {
            while (watcher.waiting < count) await new Promise((r) => setTimeout(r, 20));
          })(),
          20_000,
          "the long-polls being held",
        );

        // Waiting costs the database nothing...
        queries.length = 0;
        await new Promise((r) => setTimeout(r, 1500));
        assert.deepEqual(queries, []);
        // ...and the safety re-read is one query for all of them.
        await watcher.rereadNow();
        assert.equal(queries.length, 1, queries.join("\n"));
        assert.equal(watcher.waiting, count);
        // It reads back only the waits whose tunnel left the state waited on, or is gone.
        const pending = stateRank(TunnelState.Pending);
        const [first, second] = tunnels.map((t) => t.created.tunnelId);
        const gone = randomUUID();
        const left = await sut!.api.app.get(TunnelRepository).statesLeft([
          { id: first!, rank: pending },
          { id: second!, rank: pending + 1 },
          { id: gone, rank: pending },
        ]);
        assert.deepEqual(
          left.sort((a, b) => a.id.localeCompare(b.id)),
          [
            { id: second!, rank: pending },
            { id: gone, rank: null },
          ].sort((a, b) => a.id.localeCompare(b.id)),
        );

        // The sweep of another replica times one out: just that one answers.
        sweeper!.clock.advance(61);
        const swept = await sweeper!.sweepOnce();
        assert.deepEqual(swept, [tunnels[0]!.created.tunnelId]);
        const answer = await within(held[0]!, 20_000, "the swept tunnel's long-poll");
        assert.equal(answer?.state, TunnelState.TimedOut);
        assert.equal(watcher.waiting, count - 1);
      } finally {
        for (const client of clients) client.abort();
        await Promise.all(held);
      }
    });
  });
});
