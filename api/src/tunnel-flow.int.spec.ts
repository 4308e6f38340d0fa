import assert from "node:assert/strict";
import { ApiError, SupportApiClient, TunnelState, generateKeyPair } from "@support-tunnel/common";
import { missingPostgres, requirePrerequisite } from "@support-tunnel/lab";
import {
  createTestDatabase,
  startTestApi,
  type TestApi,
  type TestDatabase,
} from "./testing/test-api";

describe("api: the device and engineer flow (PostgreSQL)", function () {
  this.timeout(60_000);
  let db: TestDatabase | undefined;
  let sut: TestApi | undefined;

  before(async function () {
    requirePrerequisite(this, await missingPostgres());
    db = await createTestDatabase();
    sut = await startTestApi(db.url);
  });

  after(async () => {
    await sut?.close();
    await db?.drop();
  });

  const client = (token?: string) => new SupportApiClient({ baseUrl: sut!.url, token, retries: 0 });

  it("lets a device request a tunnel and read it back as pending", async () => {
    const device = generateKeyPair();
    const created = await client().createTunnel({
      deviceWgPublicKey: device.publicKey,
      network: "10.99.0.0/30",
      hostname: "kiosk-1",
    });
    assert.match(created.token, /^std_/);
    const view = await client(created.token).getDeviceTunnel();
    assert.equal(view.tunnelId, created.tunnelId);
    assert.equal(view.state, TunnelState.Pending);
    assert.equal(view.server, null);

    const seen = await client(sut!.adminToken).getTunnel(created.tunnelId);
    assert.equal(seen.hostname, "kiosk-1");
    assert.equal(seen.deviceWgPublicKey, device.publicKey);
  });

  it("refuses a device token on an engineer route", async () => {
    const created = await client().createTunnel({
      deviceWgPublicKey: generateKeyPair().publicKey,
      network: "10.99.0.4/30",
    });
    await assert.rejects(
      client(created.token).listTunnels(),
      (err: ApiError) => err.status === 401,
    );
  });
});
