import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SupportApiClient, TunnelState, generateKeyPair } from "@support-tunnel/common";
import { loadConfig } from "./config";
import { startApi, type RunningApi } from "./commands/serve";
import { ManualClock } from "./services/clock";
import { SweepService } from "./services/sweep.service";
import { newEngineerToken } from "./services/tokens";

// The same migrations and conditional updates on the embedded database: one
// PGlite session is shared, so this checks that concurrent requests still get
// exactly one winner and that transactions don't interleave.
describe("api on embedded PGlite", function () {
  this.timeout(60_000);
  let dir: string;
  let sut: RunningApi | undefined;
  const clock = new ManualClock();
  const adminToken = newEngineerToken();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "st-api-pglite-"));
    const config = loadConfig({
      HOST: "127.0.0.1",
      PORT: "0",
      SUPPORT_API_DATA_DIR: dir,
      SUPPORT_BOOTSTRAP_TOKEN: adminToken,
      SUPPORT_SWEEP_INTERVAL_MS: "3600000",
      LOG_LEVEL: "silent",
    });
    sut = await startApi(config, { clock });
  });

  after(async () => {
    await sut?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets one of many concurrent approvals win and sweeps expired tunnels", async () => {
    const admin = new SupportApiClient({ baseUrl: sut!.url, token: adminToken, retries: 0 });
    const device = generateKeyPair();
    const created = await new SupportApiClient({ baseUrl: sut!.url, retries: 0 }).createTunnel({
      deviceWgPublicKey: device.publicKey,
      network: "172.16.5.0/28",
      ttlSeconds: 60,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        admin.approveTunnel(created.tunnelId, {
          instanceId: `netns-${i}`,
          provider: "netns",
          publicIp: "203.0.113.1",
          wgPort: 51820,
          wgPublicKey: generateKeyPair().publicKey,
          approval: "c2VhbGVk",
        }),
      ),
    );
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    assert.equal((await admin.getAudit(created.tunnelId)).entries.length, 2);

    clock.advance(120);
    assert.deepEqual(await sut!.app.get(SweepService).sweepOnce(), [created.tunnelId]);
    assert.equal((await admin.getTunnel(created.tunnelId)).state, TunnelState.TimedOut);
  });

  it("wakes a device's long-poll on its approval with the tunnel read again", async () => {
    const admin = new SupportApiClient({ baseUrl: sut!.url, token: adminToken, retries: 0 });
    const created = await new SupportApiClient({ baseUrl: sut!.url, retries: 0 }).createTunnel({
      deviceWgPublicKey: generateKeyPair().publicKey,
      network: "172.16.6.0/28",
    });
    const device = new SupportApiClient({ baseUrl: sut!.url, token: created.token, retries: 0 });
    const held = device.getDeviceTunnel({ waitSeconds: 30, since: TunnelState.Pending });
    const server = generateKeyPair().publicKey;
    await admin.approveTunnel(created.tunnelId, {
      instanceId: "netns-woken",
      provider: "netns",
      publicIp: "203.0.113.2",
      wgPort: 51821,
      wgPublicKey: server,
      approval: "c2VhbGVk",
    });
    const answer = await held;
    assert.equal(answer.state, TunnelState.Started);
    assert.equal(answer.server?.wgPublicKey, server);
  });
});
