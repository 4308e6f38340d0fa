// The device's poll as the fleet view sees it, over HTTP on PostgreSQL: every
// agent polls all the time, so its "last request" is kept to within 10 s
// rather than written on every poll, and a token still opens only its tunnel.
import assert from "node:assert/strict";
import { SupportApiClient, generateKeyPair } from "@support-tunnel/common";
import { http, useTestApi } from "./testing/test-api";

describe("api: the device poll (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestApi();
  const DEVICE = "0b9f4c1e-2d3a-4e5f-8a6b-7c8d9e0f1a2b";

  function device(token?: string): SupportApiClient {
    return new SupportApiClient({
      baseUrl: pg.sut.url,
      token,
      retries: 0,
      headers: async () => ({ "x-device-id": DEVICE }),
    });
  }
  const lastRequest = async () =>
    (await new SupportApiClient({ baseUrl: pg.sut.url, token: pg.sut.adminToken }).listDevices())
      .devices[0]?.lastRequestAt;

  it("keeps the fleet view's last request to within 10 s of the device's polls", async () => {
    const created = await device().createTunnel({
      deviceWgPublicKey: generateKeyPair().publicKey,
      network: "10.82.0.0/30",
    });
    const requested = pg.sut.clock.now().toISOString();
    assert.equal(await lastRequest(), requested);

    pg.sut.clock.advance(4);
    const view = await device(created.token).getDeviceTunnel();
    assert.equal(view.tunnelId, created.tunnelId);
    assert.equal(await lastRequest(), requested, "a poll 4 s later leaves it");

    pg.sut.clock.advance(6);
    await device(created.token).getDeviceTunnel();
    assert.equal(await lastRequest(), pg.sut.clock.now().toISOString(), "10 s on, it is the poll");
  });

  it("answers another tunnel's token with that tunnel, and an unknown token with 401", async () => {
    const [a, b] = await Promise.all(
      ["10.82.0.4/30", "10.82.0.8/30"].map((network) =>
        device().createTunnel({ deviceWgPublicKey: generateKeyPair().publicKey, network }),
      ),
    );
    assert.equal((await device(a!.token).getDeviceTunnel()).network, "10.82.0.4/30");
    assert.equal((await device(b!.token).getDeviceTunnel()).network, "10.82.0.8/30");
    const unknown = await http(pg.sut.url, "GET", "/v1/device/tunnel", {
      headers: { authorization: `Bearer ${a!.token.slice(0, -4)}AAAA` },
    });
    assert.equal(unknown.status, 401);
  });
});
