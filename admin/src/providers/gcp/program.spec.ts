// The tunnel-server program under Pulumi's mocks: what GCP would be asked to make.
// Mocks are set before the program module is loaded, as Pulumi's examples do.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PulumiFn } from "@pulumi/pulumi/automation";
import type { TunnelId } from "@support-tunnel/common";
import type { AutomationAdapter } from "./automation";
import { createGcpProvider } from "./index";
import { loadProgram } from "./lazy";
import type { TunnelServerProgramArgs } from "./program";

interface Registered {
  type: string;
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mock inputs are untyped JSON
  inputs: Record<string, any>;
}

const TUNNEL_ID = "3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e";
const ENGINEER_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHvQd0mnGJd7FXk0dWw4wA6Zq8h0b6Tn6c9pYB7u2dQy alice@laptop";

function baseArgs(overrides: Partial<TunnelServerProgramArgs> = {}): TunnelServerProgramArgs {
  return {
    tunnelId: TUNNEL_ID,
    project: "acme-support",
    region: "europe-west1",
    zone: "europe-west1-b",
    machineType: "e2-micro",
    network: "support-tunnel",
    subnetwork: "support-tunnel-servers",
    wgPort: 51820,
    maxRunSeconds: 7200,
    sshSourceRanges: ["203.0.113.0/24", "198.51.100.7/32"],
    access: { kind: "ssh-key", username: "alice", publicKey: ENGINEER_KEY },
    ...overrides,
  };
}

function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

async function installMocks(registered: Registered[]) {
  await pulumi.runtime.setMocks(
    {
      newResource(r) {
        registered.push({ type: r.type, name: r.name, inputs: r.inputs });
        const state = { ...r.inputs };
        if (r.type === "gcp:compute/instance:Instance") {
          state.networkInterfaces = [
            { ...r.inputs.networkInterfaces[0], accessConfigs: [{ natIp: "34.1.2.3" }] },
          ];
        }
        return { id: `${r.name}-id`, state };
      },
      call: () => ({}),
    },
    "support-tunnel-server",
    "tunnel-test",
    false,
  );
}

async function run(args: TunnelServerProgramArgs) {
  const registered: Registered[] = [];
  await installMocks(registered);
  const { tunnelServerProgram } = loadProgram();
  const outputs = tunnelServerProgram(args);
  const publicIp = await valueOf(outputs.publicIp);
  const instanceName = await valueOf(outputs.instanceName);
  const byType = (t: string) => registered.filter((r) => r.type === t);
  const instance = byType("gcp:compute/instance:Instance")[0]!;
  const firewalls = byType("gcp:compute/firewall:Firewall");
  return { registered, instance, firewalls, publicIp, instanceName };
}

describe("gcp tunnel server program", function () {
  // the first load of @pulumi/gcp takes a couple of seconds
  this.timeout(30_000);

  it("launches one Debian 12 VM with a public address, labelled with its tunnel", async () => {
    const { instance, publicIp, instanceName } = await run(baseArgs());
    assert.equal(instance.inputs.machineType, "e2-micro");
    assert.equal(instance.inputs.zone, "europe-west1-b");
    assert.equal(instance.inputs.bootDisk.initializeParams.image, "debian-cloud/debian-12");
    assert.deepEqual(instance.inputs.networkInterfaces[0].accessConfigs, [{}]);
    assert.equal(instance.inputs.networkInterfaces[0].network, "support-tunnel");
    assert.equal(instance.inputs.labels["support-tunnel"], "server");
    assert.equal(instance.inputs.labels["tunnel-id"], TUNNEL_ID);
    assert.equal(instanceName, `st-${TUNNEL_ID}`);
    assert.equal(publicIp, "34.1.2.3");
  });

  it("deletes the VM by itself when the tunnel's time runs out", async () => {
    const { instance } = await run(baseArgs({ maxRunSeconds: 5400 }));
    const scheduling = instance.inputs.scheduling;
    assert.equal(Number(scheduling.maxRunDuration.seconds), 5400);
    assert.equal(scheduling.instanceTerminationAction, "DELETE");
    assert.equal(scheduling.provisioningModel, "STANDARD");
    assert.equal(instance.inputs.bootDisk.autoDelete, true);
  });

  it("admits WireGuard on the tunnel's UDP port from anywhere and SSH only from the engineers' ranges", async () => {
    const { instance, firewalls } = await run(baseArgs({ wgPort: 51999 }));
    const allows = firewalls.filter((f) => f.inputs.allows);
    const denies = firewalls.filter((f) => f.inputs.denies);
    const wg = allows.find((f) => f.inputs.allows[0].protocol === "udp")!;
    const ssh = allows.find((f) => f.inputs.allows[0].protocol === "tcp")!;
    assert.equal(allows.length, 2, "exactly two allow rules");
    assert.deepEqual(wg.inputs.allows, [{ protocol: "udp", ports: ["51999"] }]);
    assert.deepEqual(wg.inputs.sourceRanges, ["0.0.0.0/0"]);
    assert.deepEqual(ssh.inputs.allows, [{ protocol: "tcp", ports: ["22"] }]);
    assert.deepEqual(ssh.inputs.sourceRanges, ["203.0.113.0/24", "198.51.100.7/32"]);
    // the rest of the world is denied below our allows but above the default network's rules
    assert.equal(denies.length, 1);
    assert.deepEqual(denies[0]!.inputs.denies, [{ protocol: "all" }]);
    assert.ok(
      denies[0]!.inputs.priority > wg.inputs.priority && denies[0]!.inputs.priority < 65534,
    );
    for (const rule of firewalls) {
      assert.equal(rule.inputs.direction, "INGRESS");
      assert.equal(rule.inputs.network, "support-tunnel");
      assert.deepEqual(rule.inputs.targetTags, [`st-${TUNNEL_ID}`]);
      assert.ok(
        instance.inputs.tags.includes(rule.inputs.targetTags[0]),
        "the rule applies to the VM",
      );
    }
  });

  it("lets only the engineer's key in through the instance metadata", async () => {
    const { instance } = await run(baseArgs());
    assert.equal(instance.inputs.metadata["ssh-keys"], `alice:${ENGINEER_KEY}`);
    assert.equal(instance.inputs.metadata["enable-oslogin"], "FALSE");
    assert.equal(instance.inputs.metadata["block-project-ssh-keys"], "TRUE");
  });

  it("uses OS Login and puts no key in the metadata when configured so", async () => {
    const { instance } = await run(baseArgs({ access: { kind: "os-login" } }));
    assert.equal(instance.inputs.metadata["enable-oslogin"], "TRUE");
    assert.equal(instance.inputs.metadata["ssh-keys"], undefined);
  });

  it("installs WireGuard and nftables from the startup script", async () => {
    const { instance } = await run(baseArgs());
    const script: string = instance.inputs.metadataStartupScript;
    assert.match(script, /^#!\/bin\/bash/);
    assert.match(script, /apt-get install [^\n]*wireguard-tools/);
    assert.match(script, /apt-get install [^\n]*nftables/);
    assert.match(script, /echo ok > "\$marker"/);
  });

  it("makes no other kind of resource", async () => {
    const { registered } = await run(baseArgs());
    const types = new Set(registered.map((r) => r.type));
    assert.deepEqual([...types].sort(), [
      "gcp:compute/firewall:Firewall",
      "gcp:compute/instance:Instance",
      "pulumi:providers:gcp",
    ]);
    const provider = registered.find((r) => r.type === "pulumi:providers:gcp")!;
    assert.equal(provider.inputs.project, "acme-support");
  });
});

/** Runs the provider's inline program under the mocks, as `pulumi up` would run it. */
class MockedAutomation implements AutomationAdapter {
  registered: Registered[] = [];
  async up(_stackName: string, program: PulumiFn) {
    await installMocks(this.registered);
    const outputs = (await program()) as Record<string, pulumi.Output<unknown>>;
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(outputs)) values[k] = await valueOf(v);
    return values;
  }
  async destroy() {
    return false;
  }
  async removeStack() {}
  async listStacks() {
    return [];
  }
}

describe("gcp provider running its program", function () {
  this.timeout(30_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "st-gcp-program-"));
    writeFileSync(join(dir, "id_ed25519"), "private\n", { mode: 0o600 });
    writeFileSync(join(dir, "id_ed25519.pub"), `${ENGINEER_KEY}\n`);
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("asks for a VM that dies at the tunnel's expiry, reachable with the engineer's key from the configured ranges", async () => {
    const automation = new MockedAutomation();
    const now = Date.parse("2026-01-01T00:00:00Z");
    const sut = createGcpProvider(
      {
        project: "acme-support",
        zone: "europe-west1-b",
        network: "support-vpc",
        subnetwork: "support-servers",
        sshSourceRanges: ["203.0.113.0/24"],
        sshUsername: "alice",
        privateKeyPath: join(dir, "id_ed25519"),
        env: {},
      },
      {
        automation,
        inventory: null,
        probe: { probe: async () => ({ state: "ready", hostKey: "ssh-ed25519 AAAAhost" }) },
        now: () => now,
        sleep: async () => {},
      },
    );
    const server = await sut.obtain({
      tunnelId: TUNNEL_ID as TunnelId,
      expiresAt: new Date(now + 2 * 3600_000 + 400),
    });
    assert.equal(server.publicIp, "34.1.2.3");
    assert.equal(server.instanceId, `st-${TUNNEL_ID}`);
    const instance = automation.registered.find((r) => r.type === "gcp:compute/instance:Instance")!;
    assert.equal(Number(instance.inputs.scheduling.maxRunDuration.seconds), 7201);
    assert.equal(instance.inputs.scheduling.instanceTerminationAction, "DELETE");
    assert.equal(instance.inputs.metadata["ssh-keys"], `alice:${ENGINEER_KEY}`);
    assert.equal(instance.inputs.zone, "europe-west1-b");
    assert.equal(instance.inputs.networkInterfaces[0].subnetwork, "support-servers");
    const ssh = automation.registered.find((r) => r.name === `st-${TUNNEL_ID}-ssh`)!;
    assert.deepEqual(ssh.inputs.sourceRanges, ["203.0.113.0/24"]);
    const provider = automation.registered.find((r) => r.type === "pulumi:providers:gcp")!;
    assert.equal(provider.inputs.region, "europe-west1");
  });
});
