// End to end: the real `support`, `support-device` and `support-api` binaries in
// a lab, driven the way an engineer and a customer use them. One lab and api for
// the file; each test makes its own tunnels.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { interfaceName } from "@support-tunnel/common";
import { missingCommands, requirePrerequisite, waitFor } from "@support-tunnel/testkit";
import { execa } from "execa";
import type { LabHost } from "./host";
import { missingLab } from "./prerequisites";
import { DEVICE_BIN, DemoWorld, SUPPORT_BIN, deviceHas } from "./demo";

interface ShownTunnel {
  state: string;
  supportUser: string | null;
  server: { instanceId: string } | null;
}

describe("support end to end (lab)", function () {
  this.timeout(180_000);
  let world: DemoWorld;
  let deva: LabHost;
  let devb: LabHost;
  let sshsrv: LabHost;

  before(async function () {
    requirePrerequisite(this, missingLab() ?? missingCommands("script"));
    world = await DemoWorld.start();
    deva = await world.addDevice("deva");
    devb = await world.addDevice("devb");
    sshsrv = await world.lab.addHost("sshsrv");
  });

  after(async () => {
    await world?.stop();
  });

  async function show(id: string): Promise<ShownTunnel> {
    const r = await world.support(["show", id, "--json"]);
    assert.equal(r.exitCode, 0, r.stderr);
    return JSON.parse(r.stdout) as ShownTunnel;
  }

  /** Customer requests, engineer approves with the PSK: the tunnel is up. */
  async function openTunnel(device: LabHost, extra: string[] = []): Promise<string> {
    const { tunnelId, presharedKey } = await world.request(device);
    const created = await world.support(["create", tunnelId, "--psk", "-", ...extra], {
      input: presharedKey + "\n",
    });
    assert.equal(created.exitCode, 0, `create failed: ${created.stderr}\n${world.agentLogs()}`);
    assert.match(created.stderr, /device connected as support[0-9a-f]+/);
    return tunnelId;
  }

  /**
   * `support stop`, then wait until the device has removed the support user. In
   * the lab all hosts share one pid namespace and their first support users the
   * same uid, so a device's teardown (pkill -u) must not overlap another test's session.
   */
  async function stopAndWait(id: string, device: LabHost, extra: string[] = []): Promise<void> {
    const { supportUser } = await show(id);
    const r = await world.support(["stop", id, ...extra]);
    assert.equal(r.exitCode, 0, r.stderr);
    await deviceClean(device, id, supportUser!);
  }

  async function serverGone(instanceId: string, tunnelId: string): Promise<void> {
    const host = instanceId.split(":")[1]!;
    assert.ok(!world.lab.hosts().some((h) => h.name === host), `lab host ${host} still exists`);
    const netns = String((await execa("ip", ["netns", "list"], { timeout: 10_000 })).stdout);
    assert.ok(!netns.includes(`-${host}`), `namespace of ${host} still exists`);
    const iface = interfaceName(tunnelId, "server");
    const procs = await execa("pgrep", ["-f", `wireguard-go ${iface}`], {
      reject: false,
      timeout: 10_000,
    });
    assert.equal(String(procs.stdout), "", `wireguard-go for ${iface} still runs`);
    assert.ok(
      !fs.existsSync(`/var/run/wireguard/${iface}.sock`),
      `socket of ${iface} still exists`,
    );
  }

  async function deviceClean(device: LabHost, tunnelId: string, user: string): Promise<void> {
    await waitFor(async () => !(await deviceHas(device, { user })), `user ${user} to go`, 30_000);
    const iface = interfaceName(tunnelId, "device");
    await waitFor(
      async () => !(await deviceHas(device, { iface })),
      `interface ${iface} to go`,
      30_000,
    );
  }

  it("login checks the token with the api: whoami works, a bad token is refused", async () => {
    const who = await world.support(["whoami", "--json"]);
    assert.equal(who.exitCode, 0, who.stderr);
    assert.deepEqual(JSON.parse(who.stdout), { name: "admin", role: "admin", api: world.api.url });
    const elsewhere = path.join(path.dirname(world.configPath), "other.json");
    const bad = await world.support(
      ["login", "--config", elsewhere, "--api", world.api.url, "--with-token"],
      { input: `ste_${"A".repeat(43)}\n` },
    );
    assert.equal(bad.exitCode, 3, bad.stderr);
    assert.ok(!fs.existsSync(elsewhere), "nothing stored for a refused token");
    const inArgv = await world.support([
      "login",
      "--config",
      elsewhere,
      "--api",
      world.api.url,
      "--token",
      `ste_${"A".repeat(43)}`,
    ]);
    assert.equal(inArgv.exitCode, 2, "a token in argv is refused");
    assert.match(inArgv.stderr, /--with-token/);
    assert.ok(!fs.existsSync(elsewhere), "and nothing stored");
    const unknown = await world.support(["show", "00000000-0000-4000-8000-000000000000"]);
    assert.equal(unknown.exitCode, 5, unknown.stderr);
  });

  describe("one tunnel, from request to stop", () => {
    let id: string;
    let shown: ShownTunnel;

    before(async () => {
      id = await openTunnel(deva);
      shown = await show(id);
    });

    it("runs commands as root on the device behind NAT", async () => {
      const hostname = await world.support(["command", id, "--", "hostname"]);
      assert.equal(hostname.exitCode, 0, hostname.stderr);
      assert.equal(hostname.stdout.trim(), "deva");
      const who = await world.support(["command", id, "--", "id"]);
      assert.match(who.stdout, /uid=0\(root\)/, who.stderr);
      // Up: `connected` once the device reports a session (create's own host-key check is one).
      assert.match(shown.state, /^(running|connected)$/);
    });

    it("passes the remote exit code, stdout and stderr through", async () => {
      const r = await world.support([
        "command",
        id,
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
      ]);
      assert.equal(r.exitCode, 7);
      assert.equal(r.stdout.trim(), "out");
      assert.match(r.stderr, /^err$/m);
    });

    it("delivers hostile arguments to the device unchanged", async () => {
      const args = ["a b", "$(touch /tmp/pwned)", "; id", "it's", '"q"', "*", "line\nbreak"];
      const r = await world.support(["command", id, "--", "printf", "%s|", ...args]);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout, args.map((a) => `${a}|`).join(""));
      assert.equal((await deva.exec("test", ["-e", "/tmp/pwned"])).exitCode, 1);
    });

    it("gives an interactive root shell through a real terminal", async () => {
      const argv = [process.execPath, SUPPORT_BIN, "connect", id];
      const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
      const child = execa("script", ["-qfec", quoted, "/dev/null"], {
        env: { SUPPORT_ADMIN_CONFIG: world.configPath, TERM: "xterm" },
        stdin: "pipe",
        reject: false,
        timeout: 60_000,
      });
      let output = "";
      let sent = false;
      const type = () => {
        if (sent) return;
        sent = true;
        child.stdin?.write("echo UID=$(id -u)@$(hostname); exit\n");
      };
      // Type once the remote shell has shown a prompt (or after a while without one:
      // the terminal buffers what is typed early).
      const fallback = setTimeout(type, 8000);
      child.stdout?.on("data", (d: Buffer) => {
        output += d.toString();
        if (/[#$] ?$/.test(output.trimEnd() + " ")) type();
      });
      const result = await child;
      clearTimeout(fallback);
      assert.match(output, /UID=0@deva/, output);
      assert.equal(result.exitCode, 0, output);
    });

    it("stop ends the tunnel and leaves no namespace, interface, process or user behind", async () => {
      const r = await world.support(["stop", id]);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal((await show(id)).state, "completed");
      await serverGone(shown.server!.instanceId, id);
      await deviceClean(deva, id, shown.supportUser!);
      assert.ok(!fs.existsSync(path.join(path.dirname(world.configPath), "servers", `${id}.json`)));
    });

    it("refuses to reuse a tunnel whose server was destroyed", async () => {
      const command = await world.support(["command", id, "--", "true"]);
      assert.notEqual(command.exitCode, 0);
      assert.match(command.stderr, /is over \(completed/);
      const again = await world.support(["create", id, "--psk", "-"], { input: "x\n" });
      assert.equal(again.exitCode, 4);
      assert.match(again.stderr, /is completed, not pending/);
      const stopAgain = await world.support(["stop", id]);
      assert.equal(stopAgain.exitCode, 0, "stop is idempotent");
    });
  });

  it("serves two devices through two tunnels at once", async () => {
    const [a, b] = await Promise.all([openTunnel(deva), openTunnel(devb)]);
    const [ra, rb] = await Promise.all([
      world.support(["command", a, "--", "hostname"]),
      world.support(["command", b, "--", "hostname"]),
    ]);
    assert.equal(ra.stdout.trim(), "deva", ra.stderr);
    assert.equal(rb.stdout.trim(), "devb", rb.stderr);
    const list = (
      JSON.parse((await world.support(["list", "--json"])).stdout) as {
        tunnels: { tunnelId: string }[];
      }
    ).tunnels;
    assert.deepEqual(
      list
        .map((t) => t.tunnelId)
        .filter((t) => t === a || t === b)
        .sort(),
      [a, b].sort(),
    );
    await stopAndWait(a, deva);
    await stopAndWait(b, devb);
  });

  it("cuts the engineer off when the customer revokes mid-session", async () => {
    const id = await openTunnel(devb);
    const shown = await show(id);
    const session = world.supportProcess(["command", id, "--", "sleep", "120"], {
      timeoutMs: 90_000,
    });
    await waitFor(
      async () => (await devb.exec("pgrep", ["-u", shown.supportUser!])).exitCode === 0,
      "the engineer's session on the device",
      30_000,
    );
    const revoke = await devb.exec(process.execPath, [DEVICE_BIN, "stop", id, "--reason", "done"], {
      env: { SUPPORT_API_URL: world.api.url },
    });
    assert.equal(revoke.exitCode, 0, revoke.stderr);
    const ended = await session;
    assert.ok(!ended.timedOut, "the session outlived the revocation");
    assert.notEqual(ended.exitCode, 0);
    const after = await world.support(["command", id, "--", "true"]);
    assert.notEqual(after.exitCode, 0);
    assert.match(after.stderr, /stopped by device/);
    assert.equal((await world.support(["stop", id])).exitCode, 0);
    await serverGone(shown.server!.instanceId, id);
  });

  it("ssh provider: two tunnels side by side on one host, each stop removing only its own", async () => {
    const engineerDir = path.dirname(world.configPath);
    const key = path.join(engineerDir, "id_ed25519");
    if (!fs.existsSync(key)) {
      await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key], { timeout: 20_000 });
    }
    const host = sshsrv;
    await host.startSshd({ authorizedKeysForRoot: [fs.readFileSync(`${key}.pub`, "utf8").trim()] });
    // The ssh provider trusts on first use into a known_hosts of the test's own.
    const config = JSON.parse(fs.readFileSync(world.configPath, "utf8")) as Record<string, unknown>;
    config.ssh = { knownHosts: path.join(engineerDir, "known_hosts") };
    fs.writeFileSync(world.configPath, JSON.stringify(config), { mode: 0o600 });
    const target = ["--provider", "ssh", "--host", `root@${host.address}`];
    const opened: string[] = [];
    try {
      const a = await openTunnel(deva, target);
      opened.push(a);
      const b = await openTunnel(devb, target);
      opened.push(b);
      const ports = await Promise.all(
        [a, b].map(async (id) => {
          const r = await world.support(["show", id, "--json"]);
          return (JSON.parse(r.stdout) as { server: { wgPort: number } }).server.wgPort;
        }),
      );
      // Each tunnel on the host has its own port, the first free from 51820 up.
      assert.notEqual(ports[0], ports[1]);
      assert.ok(
        ports.every((p) => p >= 51820),
        String(ports),
      );
      assert.equal((await world.support(["command", a, "--", "hostname"])).stdout.trim(), "deva");
      assert.equal((await world.support(["command", b, "--", "hostname"])).stdout.trim(), "devb");

      await stopAndWait(a, deva);
      const links = async () => (await host.exec("ip", ["-o", "link", "show"])).stdout;
      assert.ok(!(await links()).includes(interfaceName(a, "server")), "a's interface is gone");
      assert.ok((await links()).includes(interfaceName(b, "server")), "b's interface stays");
      assert.equal(
        (await host.exec("test", ["-e", `/var/lib/support-tunnel-server/${a}`])).exitCode,
        1,
      );
      const stillB = await world.support(["command", b, "--", "hostname"]);
      assert.equal(stillB.stdout.trim(), "devb", stillB.stderr);

      await stopAndWait(b, devb);
      assert.ok(!(await links()).includes(interfaceName(b, "server")));
      const left = await host.exec("find", [
        "/var/lib/support-tunnel-server",
        "-mindepth",
        "1",
        "-type",
        "d",
      ]);
      assert.equal(left.stdout.trim(), "");
    } finally {
      for (const id of opened) await world.support(["stop", id]);
    }
  });

  it("two engineers approving one tunnel at once: one wins, the other is refused and leaves no server", async () => {
    // The second engineer works from another machine: its own config dir and records.
    const otherDir = path.join(path.dirname(world.configPath), "..", "engineer2");
    fs.mkdirSync(otherDir, { recursive: true, mode: 0o700 });
    const otherConfig = path.join(otherDir, "admin.json");
    fs.copyFileSync(world.configPath, otherConfig);
    const { tunnelId, presharedKey } = await world.request(deva);
    const [first, second] = await Promise.all([
      world.support(["create", tunnelId, "--psk", "-"], { input: presharedKey + "\n" }),
      world.support(["create", tunnelId, "--psk", "-", "--config", otherConfig], {
        input: presharedKey + "\n",
      }),
    ]);
    const codes = [first.exitCode, second.exitCode].sort();
    assert.deepEqual(codes, [0, 4], `${first.stderr}\n---\n${second.stderr}`);
    const loser = first.exitCode === 4 ? first : second;
    assert.match(loser.stderr, /approved by admin|not pending|already has a server|already exists/);
    const shown = await show(tunnelId);
    // Up: `connected` once the device reports a session (create's own host-key check is one).
    assert.match(shown.state, /^(running|connected)$/);
    // Exactly one server for the tunnel remains: the winner's.
    const servers = world.lab
      .hosts()
      .filter((h) => h.name === shown.server!.instanceId.split(":")[1]);
    assert.equal(servers.length, 1);
    // connect/command/stop work from the winner's machine, which holds the server record.
    const winner = ["--config", first.exitCode === 0 ? world.configPath : otherConfig];
    const hostname = await world.support(["command", tunnelId, ...winner, "--", "hostname"]);
    assert.equal(hostname.stdout.trim(), "deva", hostname.stderr);
    await stopAndWait(tunnelId, deva, winner);
    fs.rmSync(otherDir, { recursive: true, force: true });
  });

  it("Ctrl-C while create waits for the device destroys the server and leaves the tunnel approvable", async () => {
    // A device with no agent running: the approval is never picked up.
    const quiet = await world.lab.addHost("devq", { behindNat: true });
    try {
      const { tunnelId, presharedKey } = await world.request(quiet);
      const create = world.supportProcess(["create", tunnelId, "--psk", "-", "--timeout", "300"], {
        input: presharedKey + "\n",
      });
      let stderr = "";
      await new Promise<void>((resolve, reject) => {
        create.stderr?.on("data", (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes("waiting for the device")) resolve();
        });
        create.then(() => reject(new Error(`create ended early: ${stderr}`)), reject);
      });
      const approved = await show(tunnelId);
      create.kill("SIGINT");
      const result = await create;
      assert.equal(result.exitCode, 130, String(result.stderr));
      // The approval is withdrawn, not the customer's request: another create can use it.
      const shown = await show(tunnelId);
      assert.equal(shown.state, "pending");
      assert.equal(shown.server, null);
      await serverGone(approved.server!.instanceId, tunnelId);
    } finally {
      await world.lab.removeHost("devq");
    }
  });

  it("gc destroys the server of a tunnel the customer ended", async () => {
    const id = await openTunnel(deva);
    const shown = await show(id);
    const revoke = await deva.exec(process.execPath, [DEVICE_BIN, "stop", id], {
      env: { SUPPORT_API_URL: world.api.url },
    });
    assert.equal(revoke.exitCode, 0, revoke.stderr);
    const host = shown.server!.instanceId.split(":")[1]!;
    assert.ok(
      world.lab.hosts().some((h) => h.name === host),
      "the server outlives the tunnel until gc",
    );
    const gc = await world.support(["gc", "--json"]);
    assert.equal(gc.exitCode, 0, gc.stderr);
    assert.ok(
      (JSON.parse(gc.stdout) as { destroyed: string[] }).destroyed.includes(
        shown.server!.instanceId,
      ),
    );
    await serverGone(shown.server!.instanceId, id);
    await deviceClean(deva, id, shown.supportUser!);
  });
});
