// End to end, access: an admin sets up a customer and a group with the real
// `support` CLI, the customer's device requests with the customer's enrollment
// secret, a member of the group takes the tunnel and works on the device, and
// removing them from the group cuts their live session: their next `support
// command` fails and the device has nothing of the tunnel left.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { SupportApiClient, interfaceName } from "@support-tunnel/common";
import { requirePrerequisite, waitFor } from "@support-tunnel/testkit";
import { DEVICE_BIN, DemoWorld, deviceHas } from "./demo";
import type { LabHost } from "./host";
import { missingLab } from "./prerequisites";

describe("support end to end: access through groups (lab)", function () {
  this.timeout(240_000);
  let world: DemoWorld;
  let device: LabHost;
  /** Bob works from his own machine: his own config, token and server records. */
  let bobConfig: string;

  before(async function () {
    requirePrerequisite(this, missingLab());
    world = await DemoWorld.start();
    device = await world.addDevice("deva");
    const config = JSON.parse(fs.readFileSync(world.configPath, "utf8")) as Record<string, unknown>;
    const admin = new SupportApiClient({ baseUrl: world.api.url, token: String(config.token) });
    const { token } = await admin.createEngineer({ name: "bob", role: "operator" });
    const dir = path.join(path.dirname(world.configPath), "..", "bob");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    bobConfig = path.join(dir, "admin.json");
    fs.writeFileSync(bobConfig, JSON.stringify({ ...config, token }), { mode: 0o600 });
  });

  after(async () => {
    await world?.stop();
  });

  async function admin(args: string[]): Promise<string> {
    const r = await world.support(args);
    assert.equal(r.exitCode, 0, `support ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  }
  /** `support COMMAND --config bob's …`: before any `--`, which ends the options. */
  const asBob = ([command, ...rest]: string[], input?: string) =>
    world.support([command!, "--config", bobConfig, ...rest], input === undefined ? {} : { input });

  it("removing the engineer from the group cuts their live session and leaves nothing on the device", async () => {
    const secret = JSON.parse(await admin(["customers", "create", "acme", "--json"])) as {
      enrollmentSecret: string;
    };
    await admin(["groups", "create", "acme-team"]);
    await admin(["group", "add-customer", "acme-team", "acme"]);
    await admin(["group", "add-member", "acme-team", "bob", "--role", "member"]);

    // The customer's device asks with its customer's secret, from the environment.
    const requested = await device.exec(
      process.execPath,
      [DEVICE_BIN, "request", "--json", "--description", "till is stuck"],
      {
        env: { SUPPORT_API_URL: world.api.url, SUPPORT_ENROLLMENT_SECRET: secret.enrollmentSecret },
        timeoutMs: 30_000,
      },
    );
    assert.equal(requested.exitCode, 0, requested.stderr);
    const tunnel = JSON.parse(requested.stdout) as { tunnelId: string; presharedKey: string };

    const listed = await asBob(["list"]);
    assert.match(listed.stdout, new RegExp(`^${tunnel.tunnelId} +pending +acme +- +deva `, "m"));
    const fleet = JSON.parse((await asBob(["devices", "--customer", "acme", "--json"])).stdout) as {
      devices: { customer: string; hostname: string; liveTunnel: string }[];
    };
    assert.deepEqual(
      fleet.devices.map((d) => [d.customer, d.hostname, d.liveTunnel]),
      [["acme", "deva", tunnel.tunnelId]],
    );

    const created = await asBob(
      ["create", tunnel.tunnelId, "--psk", "-"],
      tunnel.presharedKey + "\n",
    );
    assert.equal(created.exitCode, 0, `${created.stderr}\n${world.agentLogs()}`);
    const shown = JSON.parse((await asBob(["show", tunnel.tunnelId, "--json"])).stdout) as {
      supportUser: string;
      customer: string;
    };
    assert.equal(shown.customer, "acme");
    const before = await asBob(["command", tunnel.tunnelId, "--", "hostname"]);
    assert.equal(before.stdout.trim(), "deva", before.stderr);

    await admin(["group", "remove-member", "acme-team", "bob"]);

    await waitFor(
      async () => (await asBob(["command", tunnel.tunnelId, "--", "hostname"])).exitCode !== 0,
      "bob's command to fail",
      30_000,
      500,
    );
    const after = await asBob(["command", tunnel.tunnelId, "--", "hostname"]);
    assert.notEqual(after.exitCode, 0);
    assert.doesNotMatch(after.stdout, /deva/);
    await waitFor(
      async () =>
        !(await deviceHas(device, { user: shown.supportUser })) &&
        !(await deviceHas(device, { iface: interfaceName(tunnel.tunnelId, "device") })),
      "the device to remove the support user and the interface",
      30_000,
    );
    const audit = await admin(["audit", tunnel.tunnelId, "--json"]);
    assert.match(audit, /access-removed: bob no longer has access/);
  });
});
