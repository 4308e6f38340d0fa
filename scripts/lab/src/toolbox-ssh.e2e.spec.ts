// End to end: stock OpenSSH tools through `support ssh-config`'s Host block, and
// `support cp`, reaching the device as root through the tunnel server, every
// copy in the customer's record, and nothing working once the tunnel is stopped.
// Real binaries (ssh, scp, rsync, sshd, sftp-server, wireguard-go), lab, api on PGlite.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { requirePrerequisite } from "@support-tunnel/testkit";
import { execa } from "execa";
import type { LabHost } from "./host";
import { missingLab } from "./prerequisites";
import { DemoWorld, DEVICE_BIN } from "./demo";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

describe("stock OpenSSH tools and support cp through the tunnel (lab)", function () {
  this.timeout(300_000);
  let world: DemoWorld;
  let device: LabHost;
  let tunnelId: string;
  let host: string;
  let configFile: string;
  let work: string;

  before(async function () {
    requirePrerequisite(this, missingLab());
    world = await DemoWorld.start();
    device = await world.addDevice("devtools");
    const requested = await world.request(device);
    tunnelId = requested.tunnelId;
    const created = await world.support(["create", tunnelId, "--psk", "-"], {
      input: requested.presharedKey + "\n",
    });
    assert.equal(created.exitCode, 0, `create failed: ${created.stderr}\n${world.agentLogs()}`);
    work = fs.mkdtempSync(path.join(world.tmp, "work-"));
  });

  after(async () => {
    await world?.stop();
  });

  /** A stock tool, with the Host block's file as its whole config (never ~/.ssh/config). */
  async function stock(file: string, args: string[], input = "") {
    const r = await execa(file, args, { reject: false, timeout: 60_000, input });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  async function onDevice(args: string[]) {
    const r = await device.exec(args[0]!, args.slice(1), { timeoutMs: 30_000 });
    assert.equal(r.exitCode, 0, `${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  }

  const deviceLog = () => onDevice([process.execPath, DEVICE_BIN, "log", tunnelId]);

  it("prints a Host block with which plain ssh runs commands as root on the device, recorded", async () => {
    const printed = await world.support(["ssh-config", tunnelId]);
    assert.equal(printed.exitCode, 0, printed.stderr);
    const alias = /^Host (support-[0-9a-f]{8})$/m.exec(printed.stdout);
    assert.ok(alias, printed.stdout);
    host = alias[1]!;
    assert.match(printed.stdout, /^ {2}StrictHostKeyChecking yes$/m);
    configFile = path.join(path.dirname(world.configPath), "ssh", `${tunnelId}.conf`);
    assert.equal(fs.readFileSync(configFile, "utf8").trimEnd(), printed.stdout.trimEnd());
    assert.equal(fs.statSync(configFile).mode & 0o777, 0o600);

    const r = await stock("ssh", ["-F", configFile, host, "sudo", "-n", "id", "-u"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), "0");
    const name = await stock("ssh", ["-F", configFile, host, "hostname"]);
    assert.equal(name.stdout.trim(), "devtools", name.stderr);
    assert.match(await deviceLog(), /ran: id -u \(exit 0/);
  });

  it("keeps the egress key on the server: the forwarded agent signs but lists only its public half", async () => {
    const agent = path.join(path.dirname(world.configPath), "control");
    const socket = fs.readdirSync(agent).find((f) => f.endsWith(".agent"));
    assert.ok(socket, "the agent is forwarded next to the master's socket");
    assert.equal(fs.statSync(path.join(agent, socket)).mode & 0o777, 0o600);
    const listed = await execa("ssh-add", ["-L"], {
      env: { SSH_AUTH_SOCK: path.join(agent, socket) },
      reject: false,
    });
    assert.equal(listed.exitCode, 0, String(listed.stderr));
    assert.match(String(listed.stdout), /^ssh-ed25519 \S+ support-tunnel-egress$/);
    assert.doesNotMatch(String(listed.stdout), /PRIVATE KEY/);
  });

  it("--install includes the block from ~/.ssh/config once, at the top", async () => {
    const home = path.join(work, "home");
    fs.mkdirSync(path.join(home, ".ssh"), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(home, ".ssh", "config"), "Host elsewhere\n  User bob\n");
    const env = { HOME: home };
    const first = await world.support(["ssh-config", tunnelId, "--install"], { env });
    assert.equal(first.exitCode, 0, first.stderr);
    assert.match(first.stderr, /added `Include .*\/ssh\/\*\.conf` at the top of .*\.ssh\/config/);
    const again = await world.support(["ssh-config", tunnelId, "--install"], { env });
    assert.equal(again.exitCode, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /added/);
    const userConfig = path.join(home, ".ssh", "config");
    const text = fs.readFileSync(userConfig, "utf8");
    assert.equal(text.match(/^Include /gm)?.length, 1, text);
    assert.ok(text.indexOf("Include") < text.indexOf("Host elsewhere"), text);
    const r = await stock("ssh", ["-F", userConfig, host, "hostname"]);
    assert.equal(r.stdout.trim(), "devtools", r.stderr);
  });

  it("carries stock scp (SFTP and legacy), sftp and rsync as root, each file in the record", async () => {
    const file = path.join(work, "blob.bin");
    const data = randomBytes(300_000);
    fs.writeFileSync(file, data, { mode: 0o640 });
    const up = await stock("scp", ["-F", configFile, "-p", file, `${host}:/root/`]);
    assert.equal(up.exitCode, 0, up.stderr);
    const legacy = await stock("scp", ["-O", "-F", configFile, file, `${host}:/root/legacy.bin`]);
    assert.equal(legacy.exitCode, 0, legacy.stderr);
    const rsyncUp = await stock("rsync", [
      "-a",
      "-e",
      `ssh -F ${configFile}`,
      file,
      `${host}:/root/rsynced.bin`,
    ]);
    assert.equal(rsyncUp.exitCode, 0, rsyncUp.stderr);
    const sums = await onDevice([
      "sh",
      "-c",
      "sha256sum /root/blob.bin /root/legacy.bin /root/rsynced.bin; stat -c '%U %a' /root/blob.bin",
    ]);
    for (const name of ["blob.bin", "legacy.bin", "rsynced.bin"])
      assert.match(sums, new RegExp(`^${sha256(data)}  /root/${name}$`, "m"));
    assert.match(sums, /^root 640$/m, "written as root, its mode kept");

    const back = path.join(work, "back.bin");
    const rsyncDown = await stock("rsync", [
      "-e",
      `ssh -F ${configFile}`,
      `${host}:/root/rsynced.bin`,
      back,
    ]);
    assert.equal(rsyncDown.exitCode, 0, rsyncDown.stderr);
    assert.equal(sha256(fs.readFileSync(back)), sha256(data));
    const sftp = await stock("sftp", ["-F", configFile, "-b", "-", host], "ls /root\n");
    assert.equal(sftp.exitCode, 0, sftp.stderr);
    assert.match(sftp.stdout, /blob\.bin/);

    const log = await deviceLog();
    assert.match(log, /copied blob\.bin to \/root\/ \(300 kB\)/);
    assert.match(log, /copied legacy\.bin to \/root\/ \(300 kB\)/);
    assert.match(log, /copied files to \/root\/rsynced\.bin with rsync/);
    assert.match(log, /fetched \/root\/rsynced\.bin with rsync/);
    assert.match(log, /transferred files with sftp/);
  });

  it("support cp copies both ways, keeping modes, into root-owned places, and refuses bad arguments", async () => {
    const file = path.join(work, "fix.sh");
    const data = randomBytes(100_000);
    fs.writeFileSync(file, data, { mode: 0o751 });
    const up = await world.support(["cp", tunnelId, file, ":/root/"]);
    assert.equal(up.exitCode, 0, up.stderr);
    assert.match(await onDevice(["stat", "-c", "%U %a %s", "/root/fix.sh"]), /^root 751 100000$/);

    const dir = path.join(work, "fetched");
    fs.mkdirSync(dir);
    const down = await world.support(["cp", tunnelId, ":/root/fix.sh", dir]);
    assert.equal(down.exitCode, 0, down.stderr);
    const fetched = path.join(dir, "fix.sh");
    assert.equal(sha256(fs.readFileSync(fetched)), sha256(data));
    assert.equal(fs.statSync(fetched).mode & 0o777, 0o751);
    assert.equal(down.stdout, "", "no progress bar when not on a terminal");

    await onDevice(["sh", "-c", "mkdir -p /root/tree/sub && echo hi > /root/tree/sub/a.txt"]);
    const tree = await world.support(["cp", tunnelId, "-r", ":/root/tree", dir]);
    assert.equal(tree.exitCode, 0, tree.stderr);
    assert.equal(fs.readFileSync(path.join(dir, "tree", "sub", "a.txt"), "utf8"), "hi\n");

    const missing = await world.support(["cp", tunnelId, ":/root/no-such-file", dir]);
    assert.equal(missing.exitCode, 1, missing.stderr);
    assert.match(missing.stderr, /no-such-file/);
    assert.match(missing.stderr, /the copy failed/);

    for (const args of [
      [file, dir],
      [":/root/a", ":/root/b"],
      [file, ":/root/a", ":/tmp/"],
      [file],
    ]) {
      const bad = await world.support(["cp", tunnelId, ...args]);
      assert.equal(bad.exitCode, 2, `${args.join(" ")}: ${bad.stderr}`);
    }
    const log = await deviceLog();
    assert.match(log, /copied fix\.sh to \/root\/ \(100 kB\)/);
    assert.match(log, /fetched \/root\/fix\.sh \(100 kB\)/);
  });

  it("after support stop, the same ssh fails and the block's files are gone", async () => {
    // The block as it was, kept by hand: still nothing gets through.
    const kept = path.join(work, "kept.conf");
    fs.copyFileSync(configFile, kept);
    const stopped = await world.support(["stop", tunnelId]);
    assert.equal(stopped.exitCode, 0, stopped.stderr);
    assert.ok(!fs.existsSync(configFile), "stop removes the Host block");
    const r = await stock("ssh", ["-F", kept, host, "hostname"]);
    assert.notEqual(r.exitCode, 0);
    assert.doesNotMatch(r.stdout, /devtools/);
    assert.match(r.stderr, /is over/);
  });
});
