// End to end (issue 11): what goes wrong at approval ends fast and leaves the
// customer's request usable. With the real binaries in a lab: a wrong PSK makes
// the device refuse and report it, `support create` stops at once (exit 3),
// destroys its server, and a second `create` with the right PSK works on the
// same tunnel; a viewer's `create` is refused before any server is made.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { generatePresharedKey, SupportApiClient } from "@support-tunnel/common";
import { requirePrerequisite, waitFor } from "@support-tunnel/testkit";
import type { LabHost } from "./host";
import { missingLab } from "./prerequisites";
import { DemoWorld, deviceHas } from "./demo";

interface ShownTunnel {
  state: string;
  supportUser: string | null;
  server: { instanceId: string } | null;
  refusal: { kind: string } | null;
}

describe("recovering from a failed approval (lab)", function () {
  this.timeout(180_000);
  let world: DemoWorld;
  let device: LabHost;

  before(async function () {
    requirePrerequisite(this, missingLab());
    world = await DemoWorld.start();
    device = await world.addDevice("devr");
  });

  after(async () => {
    await world?.stop();
  });

  async function show(id: string): Promise<ShownTunnel> {
    const r = await world.support(["show", id, "--json"]);
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout) as ShownTunnel;
  }

  function labHosts(): string[] {
    return world.lab
      .hosts()
      .map((h) => h.name)
      .sort();
  }

  it("a wrong PSK fails create at once with exit 3, leaves no server, and the right one then works on the same tunnel", async () => {
    const { tunnelId, presharedKey } = await world.request(device);
    const hostsBefore = labHosts();

    const wrong = await world.support(["create", tunnelId, "--psk", "-"], {
      input: generatePresharedKey() + "\n",
    });
    assert.equal(wrong.exitCode, 3, `${wrong.stderr}\n${world.agentLogs()}`);
    assert.match(
      wrong.stderr,
      /the device refused the approval: the preshared key does not match; ask the customer to read it again/,
    );
    assert.doesNotMatch(wrong.stderr, /did not connect within/, "not a timeout");
    assert.deepEqual(labHosts(), hostsBefore, "its server is destroyed");
    assert.ok(
      !fs.existsSync(path.join(path.dirname(world.configPath), "servers", `${tunnelId}.json`)),
      "and its record",
    );
    const refused = await show(tunnelId);
    assert.equal(refused.state, "pending", "the tunnel is approvable again");
    assert.equal(refused.server, null);
    assert.equal(refused.refusal?.kind, "psk");

    const right = await world.support(["create", tunnelId, "--psk", "-"], {
      input: presharedKey + "\n",
    });
    assert.equal(right.exitCode, 0, `${right.stderr}\n${world.agentLogs()}`);
    const up = await show(tunnelId);
    // Up: `connected` once the device reports a session (create's own host-key check is one).
    assert.match(up.state, /^(running|connected)$/);
    assert.equal(up.refusal, null);
    const hostname = await world.support(["command", tunnelId, "--", "hostname"]);
    assert.equal(hostname.stdout.trim(), "devr", hostname.stderr);

    const audit = await world.support(["audit", tunnelId, "--json"]);
    const actions = (JSON.parse(audit.stdout) as { action: string }[]).map((e) => e.action);
    assert.deepEqual(actions.slice(0, 4), [
      "tunnel.request",
      "tunnel.approve",
      "tunnel.refuse",
      "tunnel.approve",
    ]);

    const stopped = await world.support(["stop", tunnelId]);
    assert.equal(stopped.exitCode, 0, stopped.stderr);
    await waitFor(
      async () => !(await deviceHas(device, { user: up.supportUser! })),
      `user ${up.supportUser} to go`,
      30_000,
    );
  });

  it("refuses a viewer's create with exit 3 before any server is made", async () => {
    const { tunnelId, presharedKey } = await world.request(device);
    const { token: adminToken } = JSON.parse(fs.readFileSync(world.configPath, "utf8")) as {
      token: string;
    };
    const admin = new SupportApiClient({ baseUrl: world.api.url, token: adminToken });
    const viewer = await admin.createEngineer({ name: "victor", role: "viewer" });
    const viewerConfig = path.join(path.dirname(world.configPath), "viewer.json");
    const login = await world.support(
      ["login", "--config", viewerConfig, "--api", world.api.url, "--with-token"],
      { input: `${viewer.token}\n` },
    );
    assert.equal(login.exitCode, 0, login.stderr);
    const hostsBefore = labHosts();

    const created = await world.support(
      ["create", tunnelId, "--psk", "-", "--provider", "netns", "--config", viewerConfig],
      { input: presharedKey + "\n" },
    );
    assert.equal(created.exitCode, 3, created.stderr);
    assert.match(created.stderr, /support create needs the operator role, and victor is a viewer/);
    assert.doesNotMatch(created.stderr, /obtaining a tunnel server/);
    assert.deepEqual(labHosts(), hostsBefore, "no server made");
    assert.equal((await show(tunnelId)).state, "pending");
    assert.equal((await world.support(["stop", tunnelId])).exitCode, 0);
  });
});
