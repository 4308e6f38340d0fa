// End to end, the customer's choices: `support-device request --engineer
// --ticket --start` on a device in the lab, and the engineer's real `support
// create --provider netns` refused or let through by them. The cases where the
// api lies are in device/src/device.int.spec.ts, against the real api's database.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { SupportApiClient, interfaceName } from "@support-tunnel/common";
import { missingCommands, requirePrerequisite, waitFor } from "@support-tunnel/testkit";
import { DEVICE_BIN, DemoWorld, deviceHas } from "./demo";
import type { LabHost } from "./host";
import { missingLab } from "./prerequisites";

interface Requested {
  tunnelId: string;
  presharedKey: string;
  notBefore: string | null;
}

interface ShownTunnel {
  state: string;
  ticket: string | null;
  notBefore: string | null;
  allowedEngineers: string[] | null;
  approvedBy: string | null;
  supportUser: string | null;
}

describe("support end to end: the customer's choices (lab)", function () {
  this.timeout(180_000);
  let world: DemoWorld;
  let device: LabHost;
  /** Alice works from her own machine: her own config dir, token and server records. */
  let aliceConfig: string;

  before(async function () {
    requirePrerequisite(this, missingLab() ?? missingCommands("script"));
    world = await DemoWorld.start();
    device = await world.addDevice("devc");
    const config = JSON.parse(fs.readFileSync(world.configPath, "utf8")) as Record<string, unknown>;
    const admin = new SupportApiClient({ baseUrl: world.api.url, token: String(config.token) });
    const { token } = await admin.createEngineer({ name: "alice", role: "operator" });
    const dir = path.join(path.dirname(world.configPath), "..", "alice");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    aliceConfig = path.join(dir, "admin.json");
    fs.writeFileSync(aliceConfig, JSON.stringify({ ...config, token }), { mode: 0o600 });
  });

  after(async () => {
    await world?.stop();
  });

  async function request(args: string[]): Promise<Requested> {
    const result = await device.exec(process.execPath, [DEVICE_BIN, "request", "--json", ...args], {
      env: { SUPPORT_API_URL: world.api.url },
      timeoutMs: 30_000,
    });
    assert.equal(result.exitCode, 0, result.stderr);
    return JSON.parse(result.stdout) as Requested;
  }

  async function show(id: string): Promise<ShownTunnel> {
    const r = await world.support(["show", id, "--json"]);
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout) as ShownTunnel;
  }

  function create(id: string, psk: string, extra: string[] = []) {
    return world.support(["create", id, "--psk", "-", ...extra], { input: psk + "\n" });
  }

  /** The lab's hosts: a tunnel server `create` makes is one more. */
  function hosts(): string[] {
    return world.lab
      .hosts()
      .map((h) => h.name)
      .sort();
  }

  async function stopAsAlice(id: string): Promise<void> {
    const { supportUser } = await show(id);
    const stopped = await world.support(["stop", id, "--config", aliceConfig]);
    assert.equal(stopped.exitCode, 0, stopped.stderr);
    await waitFor(
      async () => !(await deviceHas(device, { user: supportUser! })),
      "the support user to go",
      30_000,
    );
  }

  it("refuses an engineer the customer did not allow with exit 3 and makes no server; the one allowed gets in, named on the device", async () => {
    const tunnel = await request(["--engineer", "alice", "--ticket", "ABC-123"]);
    const shown = await show(tunnel.tunnelId);
    assert.equal(shown.ticket, "ABC-123");
    assert.deepEqual(shown.allowedEngineers, ["alice"]);
    const text = await world.support(["show", tunnel.tunnelId]);
    assert.match(text.stdout, /^ticket: +ABC-123$/m);
    assert.match(text.stdout, /^engineers: +only alice$/m);
    const listed = await world.support(["list", "--state", "pending"]);
    assert.match(
      listed.stdout,
      new RegExp(`^${tunnel.tunnelId} +pending +- +- +devc +ABC-123 +alice `, "m"),
    );

    const before = hosts();
    const refused = await create(tunnel.tunnelId, tunnel.presharedKey);
    assert.equal(refused.exitCode, 3, refused.stderr);
    assert.match(refused.stderr, /the customer allows only alice to take tunnel .*, not admin/);
    assert.deepEqual(hosts(), before, "no tunnel server was made");
    assert.equal((await show(tunnel.tunnelId)).state, "pending");

    const created = await create(tunnel.tunnelId, tunnel.presharedKey, ["--config", aliceConfig]);
    assert.equal(created.exitCode, 0, `${created.stderr}\n${world.agentLogs()}`);
    try {
      const running = await show(tunnel.tunnelId);
      // Up: `connected` once the device reports a session (create's own host-key check is one).
      assert.match(running.state, /^(running|connected)$/);
      assert.equal(running.approvedBy, "alice");
      const passwd = await device.exec("getent", ["passwd", running.supportUser!]);
      assert.equal(
        passwd.stdout.split(":")[4],
        `support-tunnel ${tunnel.tunnelId} for alice (ABC-123)`,
      );
      const status = await device.exec(
        process.execPath,
        [DEVICE_BIN, "status", tunnel.tunnelId, "--json"],
        { env: { SUPPORT_API_URL: world.api.url } },
      );
      assert.deepEqual((JSON.parse(status.stdout) as { approval: unknown }).approval, {
        engineer: "alice",
        ticket: "ABC-123",
      });
    } finally {
      await stopAsAlice(tunnel.tunnelId);
    }
  });

  it("will not approve a tunnel before the customer's --start, and connects it once the start has come", async () => {
    const tunnel = await request(["--start", "+20s", "--ticket", "T-7"]);
    const opens = Date.parse(tunnel.notBefore!);
    assert.equal((await show(tunnel.tunnelId)).notBefore, tunnel.notBefore);

    const before = hosts();
    const early = await create(tunnel.tunnelId, tunnel.presharedKey, ["--config", aliceConfig]);
    assert.equal(early.exitCode, 4, early.stderr);
    assert.match(early.stderr, new RegExp(`opens at ${tunnel.notBefore}, as the customer chose`));
    assert.deepEqual(hosts(), before, "no tunnel server was made");
    assert.ok(!(await deviceHas(device, { iface: interfaceName(tunnel.tunnelId, "device") })));

    await waitFor(async () => Date.now() >= opens, "the start", 60_000);
    const created = await create(tunnel.tunnelId, tunnel.presharedKey, ["--config", aliceConfig]);
    assert.equal(created.exitCode, 0, `${created.stderr}\n${world.agentLogs()}`);
    try {
      const hostname = await world.support([
        "command",
        tunnel.tunnelId,
        "--config",
        aliceConfig,
        "--",
        "hostname",
      ]);
      assert.equal(hostname.stdout.trim(), "devc", hostname.stderr);
    } finally {
      await stopAsAlice(tunnel.tunnelId);
    }
  });
});
