// End to end: `support command` and `connect` share one connection to the tunnel
// server (the OpenSSH ControlMaster `create` leaves), and keep working with the
// recorded access when the api is down. Real binaries, lab, api on PGlite.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { generateKeyPair, generatePresharedKey } from "@support-tunnel/common";
import { requirePrerequisite, waitFor } from "@support-tunnel/testkit";
import { execa } from "execa";
import type { LabHost } from "./host";
import { missingLab } from "./prerequisites";
import { DEVICE_BIN, DemoWorld } from "./demo";

interface Record {
  server: { instanceId: string; ssh: { port: number } };
}

describe("support's first hop to the tunnel server (lab)", function () {
  this.timeout(240_000);
  let world: DemoWorld;
  let device: LabHost;

  before(async function () {
    requirePrerequisite(this, missingLab());
    world = await DemoWorld.start();
    device = await world.addDevice("devhop");
  });

  after(async () => {
    await world?.stop();
  });

  const configDir = () => path.dirname(world.configPath);
  const socketOf = (id: string) =>
    path.join(configDir(), "control", id.replace(/-/g, "").slice(0, 16));

  async function openTunnel(): Promise<string> {
    const { tunnelId, presharedKey } = await world.request(device);
    const created = await world.support(["create", tunnelId, "--psk", "-"], {
      input: presharedKey + "\n",
    });
    assert.equal(created.exitCode, 0, `create failed: ${created.stderr}\n${world.agentLogs()}`);
    return tunnelId;
  }

  /** Engineer → server SSH connections the server's sshd holds. */
  async function connectionsToServer(id: string): Promise<number> {
    const record = JSON.parse(
      fs.readFileSync(path.join(configDir(), "servers", `${id}.json`), "utf8"),
    ) as Record;
    const hostName = record.server.instanceId.split(":")[1];
    const server = world.lab.hosts().find((h) => h.name === hostName);
    assert.ok(server, `lab host ${hostName}`);
    const ss = await server.exec("ss", [
      "-Htn",
      "state",
      "established",
      "(",
      "sport",
      "=",
      `:${record.server.ssh.port}`,
      ")",
    ]);
    assert.equal(ss.exitCode, 0, ss.stderr);
    return ss.stdout.split("\n").filter((l) => l.trim()).length;
  }

  it("repeated commands go through the one connection create left open; stop closes it", async () => {
    const id = await openTunnel();
    const dir = path.join(configDir(), "control");
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700, "the control directory is private");
    assert.ok(fs.statSync(socketOf(id)).isSocket(), "create leaves the first hop open");
    assert.equal(await connectionsToServer(id), 1);
    for (let i = 0; i < 2; i++) {
      const r = await world.support(["command", id, "--", "hostname"]);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout.trim(), "devhop");
      assert.equal(await connectionsToServer(id), 1, "the server's sshd still sees one connection");
    }
    const stopped = await world.support(["stop", id]);
    assert.equal(stopped.exitCode, 0, stopped.stderr);
    assert.ok(!fs.existsSync(socketOf(id)), "stop closes the first hop and removes its socket");
  });

  /** Server → device SSH connections the device's sshd holds (port 22). */
  async function connectionsToDevice(): Promise<number> {
    const ss = await device.exec("ss", [
      "-Htn",
      "state",
      "established",
      "(",
      "sport",
      "=",
      ":22",
      ")",
    ]);
    assert.equal(ss.exitCode, 0, ss.stderr);
    return ss.stdout.split("\n").filter((l) => l.trim()).length;
  }

  it("repeated commands share one connection to the device, each still its own recorded session", async () => {
    const id = await openTunnel();
    // create's first contact is the one connection; commands only open channels on it.
    assert.equal(await connectionsToDevice(), 1);
    for (const word of ["first", "second"]) {
      const r = await world.support(["command", id, "--", "echo", word]);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stdout.trim(), word);
      assert.equal(await connectionsToDevice(), 1, "the device's sshd still sees one connection");
    }
    // The command's stdin follows the gate line the server waits for (system-ssh.ts).
    const piped = await world.support(["command", id, "--", "cat"], {
      input: "through the gate\nand on\n",
    });
    assert.equal(piped.exitCode, 0, piped.stderr);
    assert.equal(piped.stdout, "through the gate\nand on"); // execa strips the last newline
    const listed = await device.exec(process.execPath, [DEVICE_BIN, "sessions", id, "--json"], {
      timeoutMs: 60_000,
    });
    assert.equal(listed.exitCode, 0, listed.stderr);
    const { sessions } = JSON.parse(listed.stdout) as {
      sessions: { session: string; displayCommand: string | null }[];
    };
    const echoes = sessions.filter((s) => s.displayCommand?.startsWith("echo "));
    assert.deepEqual(
      echoes.map((s) => s.displayCommand),
      ["echo first", "echo second"],
      "each command is a session of its own in the device's record",
    );
    assert.notEqual(echoes[0]!.session, echoes[1]!.session);
    const stopped = await world.support(["stop", id]);
    assert.equal(stopped.exitCode, 0, stopped.stderr);
    // The device ends it as it tears the tunnel down (its support user's processes go).
    await waitFor(
      async () => (await connectionsToDevice()) === 0,
      "the connection to the device to end with the tunnel",
      30_000,
    );
  });

  it("a command made with no open first hop opens one that the next command reuses", async () => {
    const id = await openTunnel();
    // As once ControlPersist ran out: the master ends and takes its socket with it.
    await execa("ssh", ["-o", `ControlPath=${socketOf(id)}`, "-O", "exit", "server"], {
      timeout: 10_000,
    });
    assert.ok(!fs.existsSync(socketOf(id)));
    assert.equal(await connectionsToServer(id), 0);
    const first = await world.support(["command", id, "--", "true"]);
    assert.equal(first.exitCode, 0, first.stderr);
    assert.ok(fs.statSync(socketOf(id)).isSocket(), "the command left the first hop open");
    const second = await world.support(["command", id, "--", "hostname"]);
    assert.equal(second.stdout.trim(), "devhop", second.stderr);
    assert.equal(await connectionsToServer(id), 1);
    const stopped = await world.support(["stop", id]);
    assert.equal(stopped.exitCode, 0, stopped.stderr);
  });

  it("a create that fails after it opened the first hop closes it, leaving no master behind", async () => {
    // A tunnel no device will ever bring up (no agent holds its key): create opens
    // the first hop once the server's key is pinned, approves, then times out.
    const registered = await fetch(`${world.api.url}/v1/device/tunnels`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        deviceWgPublicKey: generateKeyPair().publicKey,
        network: "10.77.9.0/30",
        hostname: "nobody",
      }),
    });
    assert.equal(registered.status, 201, await registered.clone().text());
    const { tunnelId } = (await registered.json()) as { tunnelId: string };
    const created = await world.support(["create", tunnelId, "--psk", "-", "--timeout", "3"], {
      input: `${generatePresharedKey()}\n`,
    });
    assert.notEqual(created.exitCode, 0, "the device never connected");
    assert.ok(!fs.existsSync(socketOf(tunnelId)), "no control socket is left");
    const masters = await execa("pgrep", ["-f", `ControlPath=${socketOf(tunnelId)}`], {
      reject: false,
    });
    assert.equal(masters.stdout.trim(), "", "no ssh master is left running");
  });

  it("runs a command with the api stopped, through the recorded access, saying so", async () => {
    const id = await openTunnel();
    await world.api.stop();
    const r = await world.support(["command", id, "--", "hostname"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), "devhop");
    assert.match(
      r.stderr,
      new RegExp(
        `the api is unreachable; using the recorded access to ${id}; the device still enforces expiry and revocation`,
      ),
    );
  });
});
