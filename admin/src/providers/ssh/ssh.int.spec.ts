// The ssh provider against a real host of its own (a lab host with sshd and a
// LAN): two tunnels side by side, each with its own port and nftables table,
// destroy removing one tunnel's interface, table and directory while the other
// keeps working, and a device network inside the host's LAN refused.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  generateKeyPair,
  generatePresharedKey,
  interfaceName,
  type TunnelId,
} from "@support-tunnel/common";
import { createLab, missingLab, type Lab, type LabHost } from "@support-tunnel/lab";
import { requirePrerequisite } from "@support-tunnel/testkit";
import type { ResolvedConfig } from "../../config";
import { CliError, ExitCode } from "../../errors";
import { resolveIdentity } from "../../identity";
import { configureServer, serverPaths } from "../../server-setup";
import { connectNodeSsh } from "../../ssh/remote-shell";
import type { TunnelServer } from "../provider";
import { FIRST_WG_PORT, SshProvider } from "./index";

const A = "6a1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b" as TunnelId;
const B = "7b2f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b" as TunnelId;

describe("ssh provider on a host of its own (lab)", function () {
  this.timeout(120_000);
  let lab: Lab;
  let host: LabHost;
  let dir: string;
  let sut: SshProvider;

  before(async function () {
    requirePrerequisite(this, missingLab());
    dir = await mkdtemp(join(tmpdir(), "support-ssh-int-"));
    lab = await createLab();
    host = await lab.addHost("sshsrv");
    const config: ResolvedConfig = { path: join(dir, "admin.json"), dir, file: null, home: dir };
    const identity = await resolveIdentity(config, join(dir, "id_ed25519"));
    const sshd = await host.startSshd({ authorizedKeysForRoot: [identity.publicKey] });
    // The host's own LAN (a veth pair: there is no dummy module here).
    for (const args of [
      ["link", "add", "lan0", "type", "veth", "peer", "name", "lan0peer"],
      ["addr", "add", "10.77.0.1/16", "dev", "lan0"],
      ["link", "set", "lan0", "up"],
    ])
      await host.exec("ip", args, { reject: true });
    sut = new SshProvider({
      target: { username: "root", host: host.address, port: sshd.port },
      privateKeyPath: identity.privateKeyPath,
      knownHostsPath: join(dir, "known_hosts"),
    });
  });

  after(async () => {
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function bringUp(
    server: TunnelServer,
    tunnelId: TunnelId,
    network = tunnelId === A ? "10.98.0.0/30" : "10.98.0.4/30",
  ): Promise<void> {
    const shell = await connectNodeSsh(server.ssh);
    try {
      await configureServer(shell, {
        tunnelId,
        interfaceName: server.interfaceName,
        wgPort: server.wgPort,
        network,
        devicePublicKey: generateKeyPair().publicKey,
        psk: generatePresharedKey(),
        serverPrivateKey: generateKeyPair().privateKey,
      });
    } finally {
      shell.dispose();
    }
  }

  const links = async () => (await host.exec("ip", ["-o", "link", "show"])).stdout;
  const exists = async (path: string) => (await host.exec("test", ["-e", path])).exitCode === 0;
  const hasTable = async (iface: string) =>
    (await host.exec("nft", ["list", "table", "inet", iface])).exitCode === 0;

  it("gives each tunnel its own port, and destroy removes only that tunnel's interface, nftables table, agent and directory", async () => {
    const expiresAt = new Date(Date.now() + 3600_000);
    const a = await sut.obtain({ tunnelId: A, expiresAt });
    const b = await sut.obtain({ tunnelId: B, expiresAt });
    try {
      assert.equal(a.wgPort, FIRST_WG_PORT);
      assert.notEqual(a.wgPort, b.wgPort);
      await bringUp(a, A);
      await bringUp(b, B);
      assert.ok(await hasTable(a.interfaceName), "a's interface is confined by its own table");
      assert.ok(await hasTable(b.interfaceName), "and b's by its own");
      assert.deepEqual(
        (await sut.list()).map((s) => s.tunnelId).sort(),
        [A, B].sort(),
        "both tunnels are listed",
      );

      // The egress key's agent (support ssh-config) holds the key, and goes with the tunnel.
      const agentOf = serverPaths(A, a.interfaceName);
      const listed = await host.exec("ssh-add", ["-l"], {
        env: { SSH_AUTH_SOCK: agentOf.agentSocket },
      });
      assert.equal(listed.exitCode, 0, listed.stderr);
      assert.match(listed.stdout, /support-tunnel-egress \(ED25519\)/);
      const agentPid = (await host.readFile(agentOf.agentPid)).trim();
      assert.match(agentPid, /^\d+$/);

      await sut.destroy({ instanceId: a.instanceId, tunnelId: A });
      // Ended: gone, or a zombie its new parent has not reaped yet (the lab shares the pid space).
      const alive = await host.exec("sh", [
        "-c",
        'kill -0 "$1" 2>/dev/null && ! grep -q "^State:.*Z" "/proc/$1/status"',
        "sh",
        agentPid,
      ]);
      assert.notEqual(
        alive.exitCode,
        0,
        `a's agent ended: ${(await host.exec("cat", [`/proc/${agentPid}/status`])).stdout.slice(0, 200)}`,
      );
      assert.ok(!(await links()).includes(interfaceName(A, "server")), "a's interface is gone");
      assert.ok(!(await exists(serverPaths(A, a.interfaceName).dir)), "and its directory");
      assert.ok(!(await hasTable(a.interfaceName)), "and its nftables table");
      assert.ok(await hasTable(b.interfaceName), "b's table stays");
      assert.ok((await links()).includes(interfaceName(B, "server")), "b's interface stays");
      assert.ok(await exists(serverPaths(B, b.interfaceName).wgConfig), "and its config");
      assert.deepEqual(
        (await sut.list()).map((s) => s.tunnelId),
        [B],
      );
      await sut.destroy({ instanceId: a.instanceId, tunnelId: A }); // idempotent
    } finally {
      await sut.destroy({ instanceId: a.instanceId, tunnelId: A });
      await sut.destroy({ instanceId: b.instanceId, tunnelId: B });
    }
    assert.ok(!(await links()).includes(interfaceName(B, "server")));
    assert.deepEqual(await sut.list(), []);
  });

  it("refuses a network inside the host's LAN, naming both, before making an interface or rules", async () => {
    const server = await sut.obtain({ tunnelId: A, expiresAt: new Date(Date.now() + 3600_000) });
    try {
      await assert.rejects(bringUp(server, A, "10.77.3.0/30"), (err: unknown) => {
        assert.ok(err instanceof CliError);
        assert.equal(err.exitCode, ExitCode.Refused);
        assert.match(
          err.message,
          /^the device's network 10\.77\.3\.0\/30 overlaps 10\.77\.0\.1\/16 on lan0.* of the tunnel server; refusing/,
        );
        return true;
      });
      assert.ok(!(await links()).includes(server.interfaceName), "no interface was made");
      assert.ok(!(await hasTable(server.interfaceName)), "no rules were loaded");
      assert.ok(!(await exists(serverPaths(A, server.interfaceName).wgConfig)), "no config");
    } finally {
      await sut.destroy({ instanceId: server.instanceId, tunnelId: A });
    }
    assert.ok(!(await exists(serverPaths(A, server.interfaceName).dir)));
  });

  it("refuses a network another tunnel on the host already has", async () => {
    const expiresAt = new Date(Date.now() + 3600_000);
    const a = await sut.obtain({ tunnelId: A, expiresAt });
    const b = await sut.obtain({ tunnelId: B, expiresAt });
    try {
      await bringUp(a, A, "10.98.0.0/30");
      await assert.rejects(bringUp(b, B, "10.98.0.0/29"), /overlaps 10\.98\.0\.2\/30 on sts/);
      assert.ok(!(await links()).includes(b.interfaceName));
    } finally {
      await sut.destroy({ instanceId: a.instanceId, tunnelId: A });
      await sut.destroy({ instanceId: b.instanceId, tunnelId: B });
    }
  });
});
