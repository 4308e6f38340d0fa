// The gcp provider around its program, with fake Pulumi, SSH and clock: what the
// engineer sees when things are missing, when creation fails, and when it works.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TunnelId } from "@support-tunnel/common";
import type { ServerSshAccess } from "../provider";
import { PulumiAutomation, pulumiErrorSummary, type AutomationAdapter } from "./automation";
import {
  createGcpProvider,
  gcpOptionsFromConfigSection,
  gcpOptionsFromEnv,
  mergeGcpOptions,
  resolveGcpOptions,
  type GcpProviderOptions,
} from "./index";
import { parseInstanceList } from "./inventory";
import { maxRunSeconds } from "./names";
import type { ProbeResult, ServerProbe } from "./readiness";
import { waitForServer } from "./readiness";

const TUNNEL_ID = "3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e" as TunnelId;
const ENGINEER_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHvQd0mnGJd7FXk0dWw4wA6Zq8h0b6Tn6c9pYB7u2dQy alice@laptop";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOQ3yQ9F8h7u2dQyHvQd0mnGJd7FXk0dWw4wA6Zq8h0b";

class FakeAutomation implements AutomationAdapter {
  calls: string[] = [];
  upError: Error | null = null;
  stacks = new Set<string>();
  async up(stackName: string) {
    this.calls.push(`up ${stackName}`);
    this.stacks.add(stackName);
    if (this.upError) throw this.upError;
    return { publicIp: "34.1.2.3", instanceName: `st-${TUNNEL_ID}`, zone: "europe-west1-b" };
  }
  async destroy(stackName: string) {
    this.calls.push(`destroy ${stackName}`);
    return this.stacks.has(stackName);
  }
  async removeStack(stackName: string) {
    this.calls.push(`removeStack ${stackName}`);
    this.stacks.delete(stackName);
  }
  async listStacks() {
    return [...this.stacks];
  }
}

class ScriptedProbe implements ServerProbe {
  constructor(private readonly results: ProbeResult[]) {}
  async probe(): Promise<ProbeResult> {
    return this.results.length > 1 ? this.results.shift()! : this.results[0]!;
  }
}

function fakeClock(start = Date.parse("2026-01-01T00:00:00Z")) {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

describe("gcp provider", () => {
  let dir: string;
  let options: GcpProviderOptions;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "st-gcp-spec-"));
    mkdirSync(join(dir, "bin"));
    mkdirSync(join(dir, "home", ".ssh"), { recursive: true });
    for (const tool of ["pulumi", "ssh", "ssh-keyscan"]) {
      writeFileSync(join(dir, "bin", tool), "#!/bin/sh\nexit 0\n");
      chmodSync(join(dir, "bin", tool), 0o755);
    }
    writeFileSync(join(dir, "sa.json"), "{}");
    writeFileSync(join(dir, "home", ".ssh", "id_ed25519"), "private\n", { mode: 0o600 });
    writeFileSync(join(dir, "home", ".ssh", "id_ed25519.pub"), `${ENGINEER_KEY}\n`);
    options = {
      project: "acme-support",
      zone: "europe-west1-b",
      sshSourceRanges: ["203.0.113.0/24"],
      sshUsername: "alice",
      env: {
        PATH: join(dir, "bin"),
        HOME: join(dir, "home"),
        GOOGLE_APPLICATION_CREDENTIALS: join(dir, "sa.json"),
      },
    };
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe("preflight", () => {
    it("names the Pulumi CLI, the credentials and the project when all are missing", async () => {
      const sut = createGcpProvider({
        sshSourceRanges: ["203.0.113.0/24"],
        engineerSshPublicKey: ENGINEER_KEY,
        privateKeyPath: join(dir, "home", ".ssh", "id_ed25519"),
        env: { PATH: "/nonexistent", HOME: join(dir, "empty-home") },
      });
      await assert.rejects(sut.preflight(), (err: Error) => {
        assert.match(
          err.message,
          /needs the Pulumi CLI: install it from https:\/\/www\.pulumi\.com\/docs\/install\//,
        );
        assert.match(err.message, /pulumi not found on PATH/);
        assert.match(err.message, /gcloud auth application-default login/);
        assert.match(err.message, /a GCP project/);
        assert.match(err.message, /the OpenSSH client \(ssh, ssh-keyscan not found on PATH\)/);
        return true;
      });
    });

    it("says which credentials file is missing when GOOGLE_APPLICATION_CREDENTIALS points nowhere", async () => {
      const sut = createGcpProvider({
        ...options,
        env: { ...options.env, GOOGLE_APPLICATION_CREDENTIALS: join(dir, "gone.json") },
      });
      await assert.rejects(
        sut.preflight(),
        /GOOGLE_APPLICATION_CREDENTIALS points at .*gone\.json, which does not exist/,
      );
    });

    it("refuses to open SSH to the world by default: the engineers' ranges are required", async () => {
      const sut = createGcpProvider({ ...options, sshSourceRanges: undefined });
      await assert.rejects(sut.preflight(), /SSH source ranges/);
    });

    it("rejects a range that is not a CIDR", async () => {
      const sut = createGcpProvider({ ...options, sshSourceRanges: ["office"] });
      await assert.rejects(sut.preflight(), /"office" is not an IPv4 CIDR/);
    });

    it("accepts gcloud's application default credentials under HOME", async () => {
      mkdirSync(join(dir, "home", ".config", "gcloud"), { recursive: true });
      writeFileSync(
        join(dir, "home", ".config", "gcloud", "application_default_credentials.json"),
        "{}",
      );
      const sut = createGcpProvider({
        ...options,
        env: { PATH: join(dir, "bin"), HOME: join(dir, "home") },
      });
      await sut.preflight();
    });

    it("takes what the options leave out from the SUPPORT_GCP_* environment", async () => {
      const sut = createGcpProvider({
        ...options,
        project: undefined,
        env: { ...options.env, SUPPORT_GCP_PROJECT: "acme-from-env" },
      });
      await sut.preflight();
    });

    it("names a misspelt key of the config file's gcp section", async () => {
      const sut = createGcpProvider({ ...options, zoen: "europe-west1-b" } as GcpProviderOptions);
      await assert.rejects(sut.preflight(), /config gcp: Unrecognized key\(s\) in object: 'zoen'/);
    });

    it("needs no key file with OS Login, but still the private key to connect", async () => {
      rmSync(join(dir, "home", ".ssh", "id_ed25519.pub"));
      await createGcpProvider({ ...options, osLogin: true }).preflight();
      await assert.rejects(createGcpProvider(options).preflight(), /an SSH public key for the VM/);
    });
  });

  describe("obtain", () => {
    function provider(automation: AutomationAdapter, probe: ServerProbe) {
      const clock = fakeClock();
      const sut = createGcpProvider(options, { automation, probe, inventory: null, ...clock });
      return { sut, clock };
    }

    it("returns the VM's address, the tunnel's port and interface, and the pinned host key", async () => {
      const automation = new FakeAutomation();
      const probe = new ScriptedProbe([
        { state: "unreachable" },
        { state: "booting", hostKey: HOST_KEY },
        { state: "ready", hostKey: HOST_KEY },
      ]);
      const { sut, clock } = provider(automation, probe);
      const progress: string[] = [];
      const server = await sut.obtain({
        tunnelId: TUNNEL_ID,
        expiresAt: new Date(clock.now() + 3600_000),
        onProgress: (m) => progress.push(m),
      });
      assert.deepEqual(server, {
        instanceId: `st-${TUNNEL_ID}`,
        provider: "gcp",
        publicIp: "34.1.2.3",
        wgPort: 51820,
        interfaceName: "sts3f2b8c1e4d5a",
        ssh: {
          host: "34.1.2.3",
          port: 22,
          username: "alice",
          privateKeyPath: join(dir, "home", ".ssh", "id_ed25519"),
          hostKey: HOST_KEY,
        },
      });
      assert.deepEqual(automation.calls, [`up tunnel-${TUNNEL_ID}`]);
      assert.ok(progress.some((m) => /deletes itself in 3600 s/.test(m)));
      assert.ok(progress.some((m) => /waiting for SSH on 34\.1\.2\.3/.test(m)));
      assert.ok(progress.some((m) => /waiting for the startup script/.test(m)));
    });

    it("destroys what was made and removes the stack when pulumi up fails, then reports why", async () => {
      const automation = new FakeAutomation();
      automation.upError = new Error("googleapi: Error 403: Compute Engine API has not been used");
      const { sut, clock } = provider(automation, new ScriptedProbe([{ state: "unreachable" }]));
      await assert.rejects(
        sut.obtain({ tunnelId: TUNNEL_ID, expiresAt: new Date(clock.now() + 3600_000) }),
        /could not make a tunnel server: googleapi: Error 403: Compute Engine API has not been used/,
      );
      assert.deepEqual(automation.calls, [
        `up tunnel-${TUNNEL_ID}`,
        `destroy tunnel-${TUNNEL_ID}`,
        `removeStack tunnel-${TUNNEL_ID}`,
      ]);
      assert.deepEqual(await automation.listStacks(), []);
    });

    it("destroys the VM when its startup script cannot install WireGuard", async () => {
      const automation = new FakeAutomation();
      const { sut, clock } = provider(
        automation,
        new ScriptedProbe([{ state: "failed", hostKey: HOST_KEY }]),
      );
      await assert.rejects(
        sut.obtain({ tunnelId: TUNNEL_ID, expiresAt: new Date(clock.now() + 3600_000) }),
        /could not install wireguard-tools/,
      );
      assert.deepEqual(automation.calls.slice(1), [
        `destroy tunnel-${TUNNEL_ID}`,
        `removeStack tunnel-${TUNNEL_ID}`,
      ]);
    });

    it("gives up on a VM whose SSH never answers, and destroys it", async () => {
      const automation = new FakeAutomation();
      const { sut, clock } = provider(automation, new ScriptedProbe([{ state: "unreachable" }]));
      await assert.rejects(
        sut.obtain({ tunnelId: TUNNEL_ID, expiresAt: new Date(clock.now() + 3600_000) }),
        /34\.1\.2\.3: SSH did not answer within 360 s/,
      );
      assert.ok(automation.calls.includes(`destroy tunnel-${TUNNEL_ID}`));
    });

    it("says so when cleaning up fails too, naming the VM to delete", async () => {
      const automation = new FakeAutomation();
      automation.upError = new Error("quota exceeded");
      automation.destroy = async () => {
        throw new Error("backend locked");
      };
      const { sut, clock } = provider(automation, new ScriptedProbe([{ state: "unreachable" }]));
      await assert.rejects(
        sut.obtain({ tunnelId: TUNNEL_ID, expiresAt: new Date(clock.now() + 3600_000) }),
        new RegExp(`quota exceeded; cleaning up failed too \\(backend locked\\).*st-${TUNNEL_ID}`),
      );
    });

    it("makes nothing for a tunnel that has already expired", async () => {
      const automation = new FakeAutomation();
      const { sut, clock } = provider(automation, new ScriptedProbe([{ state: "unreachable" }]));
      await assert.rejects(
        sut.obtain({ tunnelId: TUNNEL_ID, expiresAt: new Date(clock.now() - 1000) }),
        /already expired/,
      );
      assert.deepEqual(automation.calls, []);
    });
  });

  it("destroy removes the tunnel's stack and is fine with one already gone", async () => {
    const automation = new FakeAutomation();
    const sut = createGcpProvider(options, { automation, inventory: null });
    await sut.destroy({ instanceId: `st-${TUNNEL_ID}`, tunnelId: TUNNEL_ID });
    await sut.destroy({ instanceId: `st-${TUNNEL_ID}`, tunnelId: TUNNEL_ID });
    assert.deepEqual(automation.calls, [
      `destroy tunnel-${TUNNEL_ID}`,
      `removeStack tunnel-${TUNNEL_ID}`,
      `destroy tunnel-${TUNNEL_ID}`,
      `removeStack tunnel-${TUNNEL_ID}`,
    ]);
  });

  it("destroy deletes a VM found by its tunnel's label when its stack is gone, and no other", async () => {
    const automation = new FakeAutomation();
    const deleted: string[] = [];
    const sut = createGcpProvider(options, {
      automation,
      inventory: {
        listServers: async () => [
          { name: `st-${TUNNEL_ID}`, tunnelId: TUNNEL_ID, zone: "europe-west1-b" },
          {
            name: "st-other",
            tunnelId: "0e9f3c4a-1b2c-4d3e-8f9a-0b1c2d3e4f5a",
            zone: "europe-west1-b",
          },
        ],
        deleteServer: async (project, server) => {
          deleted.push(`${project}/${server.zone}/${server.name}`);
        },
      },
    });
    await sut.destroy({ instanceId: `st-${TUNNEL_ID}`, tunnelId: TUNNEL_ID });
    assert.deepEqual(deleted, [`acme-support/europe-west1-b/st-${TUNNEL_ID}`]);
  });

  it("destroy leaves the label search alone when the stack was there", async () => {
    const automation = new FakeAutomation();
    automation.stacks.add(`tunnel-${TUNNEL_ID}`);
    const sut = createGcpProvider(options, {
      automation,
      inventory: {
        listServers: async () => assert.fail("no need to search"),
        deleteServer: async () => assert.fail("nothing to delete"),
      },
    });
    await sut.destroy({ instanceId: `st-${TUNNEL_ID}`, tunnelId: TUNNEL_ID });
    assert.deepEqual(await automation.listStacks(), []);
  });

  it("list finds servers by label when gcloud is there, and by stack otherwise", async () => {
    const automation = new FakeAutomation();
    automation.stacks.add(`tunnel-${TUNNEL_ID}`);
    automation.stacks.add("something-else");
    const byStack = createGcpProvider(options, { automation, inventory: null });
    assert.deepEqual(await byStack.list(), [
      { instanceId: `st-${TUNNEL_ID}`, tunnelId: TUNNEL_ID },
    ]);

    const byLabel = createGcpProvider(options, {
      automation,
      inventory: {
        deleteServer: async () => {},
        listServers: async (project) => {
          assert.equal(project, "acme-support");
          return [
            {
              name: "st-orphan",
              tunnelId: "0e9f3c4a-1b2c-4d3e-8f9a-0b1c2d3e4f5a",
              zone: "europe-west1-b",
            },
          ];
        },
      },
    });
    assert.deepEqual(await byLabel.list(), [
      { instanceId: "st-orphan", tunnelId: "0e9f3c4a-1b2c-4d3e-8f9a-0b1c2d3e4f5a" },
    ]);
  });
});

describe("gcp provider configuration", () => {
  it("reads the SUPPORT_GCP_* variables, falling back to gcloud's and Pulumi's own", () => {
    const sut = gcpOptionsFromEnv({
      CLOUDSDK_CORE_PROJECT: "from-gcloud",
      SUPPORT_GCP_ZONE: "europe-west1-b",
      SUPPORT_GCP_SSH_SOURCE_RANGES: "203.0.113.0/24, 198.51.100.7/32",
      SUPPORT_GCP_OS_LOGIN: "1",
      SUPPORT_GCP_WG_PORT: "51999",
      PULUMI_BACKEND_URL: "gs://acme-pulumi",
    });
    assert.equal(sut.project, "from-gcloud");
    assert.equal(sut.zone, "europe-west1-b");
    assert.deepEqual(sut.sshSourceRanges, ["203.0.113.0/24", "198.51.100.7/32"]);
    assert.equal(sut.osLogin, true);
    assert.equal(sut.wgPort, 51999);
    assert.equal(sut.backendUrl, "gs://acme-pulumi");
    assert.equal(sut.machineType, undefined);
  });

  it("names the bad field of the config file's gcp section", () => {
    assert.throws(
      () => gcpOptionsFromConfigSection({ project: "p", wgPort: "51820" }),
      /config gcp\.wgPort/,
    );
    assert.throws(() => gcpOptionsFromConfigSection({ zoen: "x" }), /config gcp/);
  });

  it("lets flags win over the environment and the environment over the file", () => {
    const sut = mergeGcpOptions(
      gcpOptionsFromConfigSection({
        project: "from-file",
        zone: "us-east1-b",
        machineType: "e2-small",
      }),
      { project: "from-env", zone: undefined },
      { project: "from-flag" },
    );
    assert.deepEqual(sut, { project: "from-flag", zone: "us-east1-b", machineType: "e2-small" });
  });

  it("keeps the state in a local file backend under the admin config dir by default", () => {
    const { resolved } = resolveGcpOptions({
      configDir: "/home/alice/.config/support-tunnel",
      env: {},
    });
    assert.equal(resolved.backendUrl, "file:///home/alice/.config/support-tunnel/pulumi");
    assert.equal(resolved.machineType, "e2-micro");
    assert.equal(resolved.region, "us-central1");
  });
});

describe("gcp server lifetime and readiness", () => {
  it("runs the VM for the seconds left until expiry, rounded up, never under GCP's 30 s", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    assert.equal(maxRunSeconds(new Date(now.getTime() + 7200_400), now), 7201);
    assert.equal(maxRunSeconds(new Date(now.getTime() + 5_000), now), 30);
  });

  it("reports a startup script that gave up instead of waiting out the deadline", async () => {
    const access: ServerSshAccess = {
      host: "34.1.2.3",
      port: 22,
      username: "alice",
      privateKeyPath: "/k",
    };
    const clock = fakeClock();
    await assert.rejects(
      waitForServer(
        access,
        {
          probe: new ScriptedProbe([
            { state: "booting", hostKey: HOST_KEY },
            { state: "failed", hostKey: HOST_KEY },
          ]),
          ...clock,
        },
        { timeoutMs: 60_000 },
      ),
      /could not install wireguard-tools/,
    );
  });

  it("keeps only our labelled servers from gcloud's instance list", () => {
    const sut = parseInstanceList(
      JSON.stringify([
        {
          name: "st-a",
          zone: "https://www.googleapis.com/compute/v1/projects/p/zones/europe-west1-b",
          labels: {
            "support-tunnel": "server",
            "tunnel-id": "0e9f3c4a-1b2c-4d3e-8f9a-0b1c2d3e4f5a",
          },
        },
        { name: "web-1", zone: "zones/europe-west1-b", labels: { team: "web" } },
        { name: "st-b", labels: { "support-tunnel": "server" } },
      ]),
    );
    assert.deepEqual(sut, [
      { name: "st-a", tunnelId: "0e9f3c4a-1b2c-4d3e-8f9a-0b1c2d3e4f5a", zone: "europe-west1-b" },
    ]);
  });
});

describe("gcp Pulumi automation", () => {
  it("fails with the install hint, before spawning anything, when the Pulumi CLI is missing", async () => {
    const sut = new PulumiAutomation({
      projectName: "support-tunnel-server",
      backendUrl: "file:///nonexistent/support-tunnel/pulumi",
      configPassphrase: "",
      env: { PATH: "/nonexistent" },
    });
    await assert.rejects(
      sut.listStacks(),
      /install it from https:\/\/www\.pulumi\.com\/docs\/install\//,
    );
    await assert.rejects(sut.destroy("tunnel-x", {}), /pulumi not found on PATH/);
  });
});

describe("gcp Pulumi error messages", () => {
  it("keeps the error lines of a Pulumi command failure and drops the transcript", () => {
    const err = new Error(
      [
        "code: 255",
        " stdout: Updating (tunnel-x):",
        "  +  gcp:compute:Instance st-x creating (1s)",
        " stderr: error: 1 error occurred:",
        "\t* googleapi: Error 403: Compute Engine API has not been used in project acme-support, accessNotConfigured",
        " err?: Error: Command failed with exit code 255: pulumi up --yes",
      ].join("\n"),
    );
    const sut = pulumiErrorSummary(err);
    assert.match(sut, /Error 403: Compute Engine API has not been used/);
    assert.doesNotMatch(sut, /creating \(1s\)|Command failed/);
  });

  it("passes other errors through as they are", () => {
    assert.equal(pulumiErrorSummary(new Error("quota exceeded")), "quota exceeded");
  });
});
