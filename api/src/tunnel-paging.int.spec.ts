import assert from "node:assert/strict";
import {
  MAX_TUNNEL_PAGE,
  SupportApiClient,
  TunnelState,
  generateKeyPair,
  type TunnelId,
} from "@support-tunnel/common";
import { mapLimit } from "@support-tunnel/testkit";
import { http, useTestApi } from "./testing/test-api";

describe("api: listing more tunnels than one page (PostgreSQL)", function () {
  this.timeout(120_000);
  const pg = useTestApi();
  const TOTAL = MAX_TUNNEL_PAGE + 21;
  let viewer: SupportApiClient;
  let created: TunnelId[] = [];

  before(async () => {
    const admin = new SupportApiClient({ baseUrl: pg.sut.url, token: pg.sut.adminToken });
    viewer = new SupportApiClient({
      baseUrl: pg.sut.url,
      token: (await admin.createEngineer({ name: "victor", role: "viewer" })).token,
    });
    const device = new SupportApiClient({ baseUrl: pg.sut.url });
    const key = generateKeyPair().publicKey;
    // Half of them in the same millisecond: the order must still be total.
    created = await mapLimit([...Array(TOTAL).keys()], 8, async (i) => {
      if (i % 2 === 0) pg.sut.clock.advance(0.001);
      const answer = await device.createTunnel({
        deviceWgPublicKey: key,
        network: `10.${80 + Math.floor(i / 16384)}.${Math.floor(i / 64) % 256}.${(i % 64) * 4}/30`,
      });
      return answer.tunnelId;
    });
  });

  it("gives 500 tunnels a page, newest first, and a cursor that leads to the rest", async () => {
    const first = await viewer.listTunnels();
    assert.equal(first.tunnels.length, MAX_TUNNEL_PAGE);
    assert.ok(first.nextCursor);
    const second = await viewer.listTunnels(undefined, { cursor: first.nextCursor });
    assert.equal(second.tunnels.length, TOTAL - MAX_TUNNEL_PAGE);
    assert.equal(second.nextCursor, null);
    const all = [...first.tunnels, ...second.tunnels];
    assert.deepEqual(new Set(all.map((t) => t.tunnelId)), new Set(created));
    const times = all.map((t) => Date.parse(t.createdAt));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );
  });

  it("pages by a smaller limit without losing or repeating a tunnel", async () => {
    const all = await viewer.listAllTunnels({ pageSize: 37 });
    assert.equal(all.length, TOTAL);
    assert.equal(new Set(all.map((t) => t.tunnelId)).size, TOTAL);
  });

  it("lists only live tunnels with live=1", async () => {
    const ended = created[0]!;
    const admin = new SupportApiClient({ baseUrl: pg.sut.url, token: pg.sut.adminToken });
    await admin.stopTunnel(ended, "paging test");
    const live = await viewer.listAllTunnels({ live: true });
    assert.equal(live.length, TOTAL - 1);
    assert.ok(!live.some((t) => t.tunnelId === ended));
    assert.ok(live.every((t) => t.state === TunnelState.Pending));
    const everything = await viewer.listAllTunnels();
    assert.ok(everything.some((t) => t.tunnelId === ended));
  });

  it("refuses a cursor it did not give, and a limit out of range, naming the field", async () => {
    for (const [query, field] of [
      ["cursor=bm90LWEtY3Vyc29y", "cursor"],
      ["cursor=%5B%5D", "cursor"],
      ["limit=0", "limit"],
      ["limit=501", "limit"],
      ["live=yes", "live"],
    ] as const) {
      const answer = await http(pg.sut.url, "GET", `/v1/tunnels?${query}`, {
        token: pg.sut.adminToken,
      });
      assert.equal(answer.status, 400, query);
      assert.equal((answer.body as { field: string }).field, field, query);
    }
  });
});
