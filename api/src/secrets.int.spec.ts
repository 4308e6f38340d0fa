import assert from "node:assert/strict";
import { SupportApiClient } from "@support-tunnel/common";
import {
  dumpDatabase,
  requestTestTunnel,
  testApprovalRequest,
  useTestApi,
} from "./testing/test-api";

describe("api: what it stores (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestApi();

  it("keeps no private key, PSK or raw token anywhere in its database after a full flow", async () => {
    const api = (token?: string) =>
      new SupportApiClient({ baseUrl: pg.sut.url, token, retries: 0 });
    const admin = api(pg.sut.adminToken);
    const operator = await admin.createEngineer({ name: "olivia", role: "operator" });

    const { created, device } = await requestTestTunnel(pg.sut.url, { network: "10.88.0.0/29" });
    const { body, server, psk } = testApprovalRequest(created, device, {
      instanceId: "netns-1",
      publicIp: "203.0.113.9",
    });
    await api(operator.token).approveTunnel(created.tunnelId, body);
    await api(created.token).reportConnected("support00ff");
    await api(created.token).getDeviceTunnel();
    await api(operator.token).stopTunnel(created.tunnelId, "done");

    const dump = await dumpDatabase(pg.db.url);
    assert.ok(dump.includes(device.publicKey), "the dump should hold the stored public key");
    const secrets = {
      "device private key": device.privateKey,
      "server private key": server.privateKey,
      psk,
      "device token": created.token,
      "operator token": operator.token,
      "bootstrap admin token": pg.sut.adminToken,
    };
    for (const [what, secret] of Object.entries(secrets)) {
      assert.ok(!dump.includes(secret), `the ${what} is in the database`);
      // also not in another encoding
      assert.ok(
        !dump.includes(Buffer.from(secret).toString("hex")),
        `the ${what} (hex) is in the database`,
      );
    }
  });
});
