// End to end, the engineer's side of the trust model (issue 10): with the real
// `support`, `support-device` and `support-api` binaries in a lab, a lying api
// (the rewriting proxy between `support` and the api) cannot steer the hop to
// the device, a device whose SSH host key changed after create is refused, and
// a hostile device cannot take over a shared `ssh` tunnel server's LAN or reach
// anything through its tunnel but the server's answers.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  generateKeyPair,
  generatePresharedKey,
  interfaceName,
  tunnelAddresses,
} from "@support-tunnel/common";
import { requirePrerequisite, waitFor } from "@support-tunnel/testkit";
import { execa } from "execa";
import type { LabHost } from "./host";
import { missingLab } from "./prerequisites";
import { DemoWorld, deviceHas } from "./demo";
import { pathOf, startRewritingProxy, type RewritingProxy } from "./rewriting-proxy";

interface ShownTunnel {
  state: string;
  network: string;
  supportUser: string | null;
  server: { instanceId: string } | null;
}

/** The shared server's own LAN: a hostile device asks for a block inside it. */
const SERVER_LAN_ADDRESS = "10.77.0.1";
const SERVER_LAN = "10.77.0.0/16";

describe("the engineer's side of the trust model (lab)", function () {
  this.timeout(180_000);
  let world: DemoWorld;
  let device: LabHost;
  let sshsrv: LabHost;
  let proxy: RewritingProxy;

  before(async function () {
    requirePrerequisite(this, missingLab());
    world = await DemoWorld.start();
    device = await world.addDevice("devt");
    proxy = await startRewritingProxy({ upstream: world.api.url });
  });

  after(async () => {
    await proxy?.close();
    await world?.stop();
  });

  async function show(id: string): Promise<ShownTunnel> {
    const r = await world.support(["show", id, "--json"]);
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout) as ShownTunnel;
  }

  async function openTunnel(extra: string[] = []): Promise<string> {
    const { tunnelId, presharedKey } = await world.request(device);
    const created = await world.support(["create", tunnelId, "--psk", "-", ...extra], {
      input: presharedKey + "\n",
    });
    assert.equal(created.exitCode, 0, `create failed: ${created.stderr}\n${world.agentLogs()}`);
    return tunnelId;
  }

  async function stopAndWait(id: string): Promise<void> {
    const { supportUser } = await show(id);
    const r = await world.support(["stop", id]);
    assert.equal(r.exitCode, 0, r.stderr);
    await waitFor(
      async () => !(await deviceHas(device, { user: supportUser! })),
      `user ${supportUser} to go`,
      30_000,
    );
  }

  /** Runs `touch` on the device through the CLI; says whether the file appeared. */
  async function touchedOnDevice(
    id: string,
    env?: Record<string, string>,
  ): Promise<{ exitCode: number; stderr: string; ran: boolean }> {
    const marker = `/root/trust-${randomBytes(4).toString("hex")}`;
    const r = await world.support(["command", id, "--", "touch", marker], { env });
    const ran = (await device.exec("test", ["-e", marker])).exitCode === 0;
    return { exitCode: r.exitCode, stderr: r.stderr, ran };
  }

  describe("an api that lies about where the device is", () => {
    let id: string;
    const viaProxy = () => ({ SUPPORT_API_URL: proxy.url });

    before(async () => {
      id = await openTunnel();
    });
    afterEach(() => proxy.setRewrite(undefined));
    after(async () => {
      if (id) await stopAndWait(id);
    });

    /** The proxy answers GET /v1/tunnels/<id> with the api's view changed by `change`. */
    function lie(change: (view: Record<string, unknown>) => Record<string, unknown>): void {
      proxy.setRewrite((ex) =>
        ex.method === "GET" && pathOf(ex) === `/v1/tunnels/${id}` && ex.status === 200
          ? change(ex.body as Record<string, unknown>)
          : undefined,
      );
    }

    it("works through the proxy while it passes the api's answers through", async () => {
      const seen = proxy.exchanges.length;
      const r = await world.support(["command", id, "--", "hostname"], { env: viaProxy() });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout.trim(), "devt");
      assert.ok(proxy.exchanges.length > seen, "the CLI talked to the api through the proxy");
    });

    it("refuses another support user and runs nothing on the device", async () => {
      const real = (await show(id)).supportUser!;
      lie((view) => ({ ...view, supportUser: "support0bad0bad" }));
      const r = await touchedOnDevice(id, viaProxy());
      assert.equal(r.exitCode, 3, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `refusing to reach tunnel ${id}: the api says the support user is "support0bad0bad", create recorded "${real}"`,
        ),
      );
      assert.match(r.stderr, /nothing was run on the device/);
      assert.ok(!r.ran, "the command ran on the device");
    });

    it("refuses another network and runs nothing on the device", async () => {
      const real = (await show(id)).network;
      lie((view) => ({ ...view, network: "10.250.0.0/30" }));
      const r = await touchedOnDevice(id, viaProxy());
      assert.equal(r.exitCode, 3, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `the api says the network is "10\\.250\\.0\\.0/30", create recorded "${real.replace(/\./g, "\\.")}"`,
        ),
      );
      assert.ok(!r.ran, "the command ran on the device");
    });

    it("refuses another server instance and runs nothing on the device", async () => {
      lie((view) => ({
        ...view,
        server: { ...(view.server as object), instanceId: "lab:ts000000000000" },
      }));
      const r = await touchedOnDevice(id, viaProxy());
      assert.equal(r.exitCode, 3, r.stderr);
      assert.match(r.stderr, /the api says the server is "lab:ts000000000000"/);
      assert.ok(!r.ran, "the command ran on the device");
    });
  });

  it("refuses a device whose SSH host key changed after create, running nothing", async () => {
    const id = await openTunnel();
    try {
      // Before any command: on first contact the old hop accepted whatever key it met.
      const before = await device.readFile("/etc/ssh/ssh_host_ed25519_key.pub");
      await restartSshdWithNewHostKeys(device);
      assert.notEqual(await device.readFile("/etc/ssh/ssh_host_ed25519_key.pub"), before);
      const r = await touchedOnDevice(id);
      assert.equal(r.exitCode, 255, r.stderr);
      assert.match(r.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
      assert.match(r.stderr, /host key is not the one pinned at create/);
      assert.ok(!r.ran, "the command ran on a device with another host key");
    } finally {
      await stopAndWait(id);
    }
  });

  it("refuses a PSK on the command line and makes nothing", async () => {
    const { tunnelId, presharedKey } = await world.request(device);
    const r = await world.support(["create", tunnelId, "--psk", presharedKey]);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /pipe it in with --psk -/);
    assert.equal((await show(tunnelId)).state, "pending");
    assert.ok(
      !world.lab.hosts().some((h) => h.name === `ts${tunnelId.replace(/-/g, "").slice(0, 12)}`),
    );
    await world.support(["stop", tunnelId]);
  });

  describe("a shared ssh tunnel server with a LAN of its own", () => {
    const target = () => ["--provider", "ssh", "--host", `root@${sshsrv.address}`];

    before(async () => {
      const engineerDir = path.dirname(world.configPath);
      const key = path.join(engineerDir, "id_ed25519");
      if (!fs.existsSync(key)) {
        await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], {
          timeout: 20_000,
        });
      }
      sshsrv = await world.lab.addHost("sshsrv");
      await sshsrv.startSshd({
        authorizedKeysForRoot: [fs.readFileSync(`${key}.pub`, "utf8").trim()],
      });
      for (const args of [
        // A veth pair standing in for the LAN's cable (no dummy module here).
        ["link", "add", "lan0", "type", "veth", "peer", "name", "lan0peer"],
        ["addr", "add", `${SERVER_LAN_ADDRESS}/16`, "dev", "lan0"],
        ["link", "set", "lan0peer", "up"],
        ["link", "set", "lan0", "up"],
      ])
        await sshsrv.exec("ip", args, { reject: true });
      // A server that routes for its LAN: forwarding on, so only our rules stop it.
      await sshsrv.exec("sh", ["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"], { reject: true });
      // The ssh provider trusts the host on first use into a known_hosts of the test's own.
      const config = JSON.parse(fs.readFileSync(world.configPath, "utf8")) as Record<
        string,
        unknown
      >;
      config.ssh = { knownHosts: path.join(engineerDir, "known_hosts") };
      fs.writeFileSync(world.configPath, JSON.stringify(config), { mode: 0o600 });
    });

    async function leftOnServer(id: string): Promise<string[]> {
      const iface = interfaceName(id, "server");
      const left: string[] = [];
      if (
        (await sshsrv.exec("test", ["-e", `/var/lib/support-tunnel-server/${id}`])).exitCode === 0
      )
        left.push("the tunnel's directory");
      if ((await sshsrv.exec("ip", ["link", "show", "dev", iface])).exitCode === 0)
        left.push(`interface ${iface}`);
      if ((await sshsrv.exec("nft", ["list", "table", "inet", iface])).exitCode === 0)
        left.push(`nftables table ${iface}`);
      return left;
    }

    it("refuses a device network inside the server's LAN, naming both, leaving nothing and the tunnel approvable", async () => {
      // The hostile device registers straight with the api, with the network it wants.
      const network = "10.77.3.0/30";
      const registered = await fetch(`${world.api.url}/v1/device/tunnels`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          deviceWgPublicKey: generateKeyPair().publicKey,
          network,
          hostname: "hostile",
        }),
      });
      assert.equal(registered.status, 201, await registered.clone().text());
      const { tunnelId } = (await registered.json()) as { tunnelId: string };

      const r = await world.support(
        ["create", tunnelId, "--psk", "-", "--timeout", "10", ...target()],
        { input: `${generatePresharedKey()}\n` },
      );
      assert.equal(r.exitCode, 3, r.stderr);
      assert.match(
        r.stderr,
        /the device's network 10\.77\.3\.0\/30 overlaps 10\.77\.0\.1\/16 on lan0.* of the tunnel server; refusing/,
      );
      assert.deepEqual(await leftOnServer(tunnelId), []);
      assert.equal((await show(tunnelId)).state, "pending", "the tunnel stays approvable");
      assert.ok(
        !fs.existsSync(path.join(path.dirname(world.configPath), "servers", `${tunnelId}.json`)),
        "no server record is left",
      );
      await world.support(["stop", tunnelId]);
    });

    it("lets the tunnel carry only server ↔ device: the device reaches nothing on or behind the server", async () => {
      const id = await openTunnel(target());
      const serverIface = interfaceName(id, "server");
      try {
        const hostname = await world.support(["command", id, "--", "hostname"]);
        assert.equal(hostname.stdout.trim(), "devt", hostname.stderr);

        // The device turns hostile (it is root on its own machine): it sends the
        // server's LAN through the tunnel.
        const deviceIface = interfaceName(id, "device");
        const peer = (
          await device.exec("wg", ["show", deviceIface, "peers"], { reject: true })
        ).stdout.trim();
        await device.exec("wg", ["set", deviceIface, "peer", peer, "allowed-ips", "0.0.0.0/0"], {
          reject: true,
        });
        await device.exec("ip", ["route", "add", SERVER_LAN, "dev", deviceIface], {
          reject: true,
        });
        const serverTunnelAddress = tunnelAddresses((await show(id)).network).server;

        const lan = await device.probeTcp(SERVER_LAN_ADDRESS, 22);
        assert.ok(!lan.connected, `the device reached ${SERVER_LAN_ADDRESS}:22 through the tunnel`);
        const own = await device.probeTcp(serverTunnelAddress, 22);
        assert.ok(!own.connected, "the device reached the server's sshd over the tunnel");
        assert.equal(
          (await sshsrv.exec("nft", ["list", "table", "inet", serverIface])).exitCode,
          0,
          "the tunnel has no nftables table",
        );
        const forwarded = await forwardDrops(sshsrv, serverIface);
        await device.probeTcp("10.77.0.9", 22, 2000, 0);
        assert.ok(
          (await forwardDrops(sshsrv, serverIface)) > forwarded,
          "a packet from the tunnel into the LAN was not dropped by the tunnel's forward rule",
        );
      } finally {
        await stopAndWait(id);
      }
      assert.deepEqual(await leftOnServer(id), [], "stop leaves nothing on the shared server");
    });
  });
});

/** Replaces the host's SSH host keys and restarts its sshd, as a swapped machine would. */
async function restartSshdWithNewHostKeys(host: LabHost): Promise<void> {
  const pids = String((await execa("ip", ["netns", "pids", host.netns])).stdout)
    .split("\n")
    .filter(Boolean)
    .map(Number);
  const sshd = pids.filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "sshd";
    } catch {
      return false;
    }
  });
  for (const pid of sshd) process.kill(pid, "SIGTERM");
  await waitFor(
    async () => sshd.every((pid) => !fs.existsSync(`/proc/${pid}`)),
    "the device's sshd to stop",
    10_000,
  );
  await host.exec("sh", ["-c", "rm -f /etc/ssh/ssh_host_*"], { reject: true });
  // startSshd waits for "listening" in its log: start from an empty one.
  fs.rmSync(path.join(host.dir, "sshd-22.log"), { force: true });
  await host.startSshd();
}

/** Packets the tunnel's forward rules dropped so far (their counters). */
async function forwardDrops(server: LabHost, table: string): Promise<number> {
  const listed = await server.exec("nft", ["-j", "list", "chain", "inet", table, "forward"], {
    reject: true,
  });
  const { nftables } = JSON.parse(listed.stdout) as {
    nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[];
  };
  return nftables
    .flatMap((item) => item.rule?.expr ?? [])
    .reduce((sum, expr) => sum + (expr.counter?.packets ?? 0), 0);
}
