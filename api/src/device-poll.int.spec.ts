// The device's poll as the fleet view sees it, over HTTP on PostgreSQL: every
// agent polls all the time, so its "last request" is kept in memory and
// written in one batched statement (see LastRequests), and a token still opens
// only its tunnel.
import assert from "node:assert/strict";
import { SupportApiClient, generateKeyPair } from "@support-tunnel/common";
import { Client } from "pg";
import { LastRequests } from "./services/last-requests.service";
import { http, startTestApi, useTestApi, useTestDatabase } from "./testing/test-api";

const DEVICE = "0b9f4c1e-2d3a-4e5f-8a6b-7c8d9e0f1a2b";
// No timed flush during a test: only the fleet view's and the shutdown's.
const NO_TIMED_FLUSH = { SUPPORT_LAST_REQUEST_FLUSH_MS: "3600000" };

function device(url: string, token?: string, id = DEVICE): SupportApiClient {
  return new SupportApiClient({
    baseUrl: url,
    token,
    retries: 0,
    headers: async () => ({ "x-device-id": id }),
  });
}

describe("api: the device poll (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestApi(NO_TIMED_FLUSH);
  const lastRequests = async () =>
    new Map(
      (
        await new SupportApiClient({ baseUrl: pg.sut.url, token: pg.sut.adminToken }).listDevices()
      ).devices.map((d) => [d.deviceId as string, d.lastRequestAt]),
    );

  it("writes many devices' polls as one statement, which the fleet view shows", async () => {
    const ids = [DEVICE, "1c0a5d2f-3e4b-4f6a-9b7c-8d9e0f1a2b3c"];
    const created = await Promise.all(
      ids.map((id, i) =>
        device(pg.sut.url, undefined, id).createTunnel({
          deviceWgPublicKey: generateKeyPair().publicKey,
          network: `10.82.0.${i * 4}/30`,
        }),
      ),
    );
    const recorder = pg.sut.api.app.get(LastRequests);
    const before = recorder.writes;
    pg.sut.clock.advance(4);
    for (let round = 0; round < 10; round++) {
      for (const [i, id] of ids.entries()) {
        const view = await device(pg.sut.url, created[i]!.token, id).getDeviceTunnel();
        assert.equal(view.tunnelId, created[i]!.tunnelId);
      }
    }
    const polled = pg.sut.clock.now().toISOString();
    const seen = await lastRequests();
    assert.equal(recorder.writes - before, 1, "20 polls, one write");
    for (const id of ids) assert.equal(seen.get(id), polled, id);
  });

  it("answers another tunnel's token with that tunnel, and an unknown token with 401", async () => {
    const [a, b] = await Promise.all(
      ["10.82.0.8/30", "10.82.0.12/30"].map((network) =>
        device(pg.sut.url).createTunnel({
          deviceWgPublicKey: generateKeyPair().publicKey,
          network,
        }),
      ),
    );
    assert.equal((await device(pg.sut.url, a!.token).getDeviceTunnel()).network, "10.82.0.8/30");
    assert.equal((await device(pg.sut.url, b!.token).getDeviceTunnel()).network, "10.82.0.12/30");
    const unknown = await http(pg.sut.url, "GET", "/v1/device/tunnel", {
      headers: { authorization: `Bearer ${a!.token.slice(0, -4)}AAAA` },
    });
    assert.equal(unknown.status, 401);
  });
});

describe("api: devices' last requests at shutdown (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestDatabase();

  it("writes the pending last requests before the api stops", async () => {
    const api = await startTestApi(pg.db.url, NO_TIMED_FLUSH);
    let polled: string;
    try {
      const created = await device(api.url).createTunnel({
        deviceWgPublicKey: generateKeyPair().publicKey,
        network: "10.82.1.0/30",
      });
      api.clock.advance(7);
      await device(api.url, created.token).getDeviceTunnel();
      polled = api.clock.now().toISOString();
    } finally {
      await api.close();
    }
    const client = new Client({ connectionString: pg.db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ at: Date }>(
        `SELECT "last_request_at" AS at FROM "devices" WHERE "id" = $1`,
        [DEVICE],
      );
      assert.equal(rows[0]?.at.toISOString(), polled);
    } finally {
      await client.end();
    }
  });
});
