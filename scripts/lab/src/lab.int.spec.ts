// The lab against the real machine: namespaces, NAT, wireguard-go, sshd, useradd.
import { strict as assert } from "node:assert";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
  generateKeyPair,
  generatePresharedKey,
  renderWgQuickConfig,
  type WgKeyPair,
} from "@support-tunnel/common";
import { requirePrerequisite, waitFor } from "@support-tunnel/testkit";
import { cleanupLeftoverLabs, createLab, LAB_ROOT, openLab, type Lab } from "./lab";
import type { LabHost } from "./host";
import { missingLab } from "./prerequisites";
import { isProcessAlive } from "./system";

const INDEX = path.join(__dirname, "index.js");

function namespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter(Boolean);
}

function rootLinks(): string[] {
  return execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? "")
    .filter(Boolean);
}

/** Everything a lab named `name` could leave behind on the machine. */
function leftoversOf(name: string, rootInterface: string, pids: number[]): string[] {
  const left: string[] = [];
  for (const n of namespaces()) if (n.startsWith(`stlab-${name}-`)) left.push(`netns ${n}`);
  if (rootLinks().includes(rootInterface)) left.push(`link ${rootInterface}`);
  for (const pid of pids) if (isProcessAlive(pid)) left.push(`process ${pid}`);
  if (fs.existsSync(path.join(LAB_ROOT, name))) left.push(`dir ${path.join(LAB_ROOT, name)}`);
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/mountinfo`, "utf8").includes(path.join(LAB_ROOT, name))) {
        left.push(`mount in process ${pid}`);
      }
    } catch {
      // process gone meanwhile
    }
  }
  return left;
}

/** Runs a small node program (fixed code, data in argv) that uses the lab library. */
function labChild(code: string, args: string[]) {
  const child = spawn(process.execPath, ["-e", code, INDEX, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const firstLine = new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once("exit", (code) => reject(new Error(`child exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code, sig) => resolve(code ?? (sig ? -1 : null))),
  );
  return { child, firstLine, exited };
}

async function wgUp(host: LabHost, iface: string, config: string): Promise<void> {
  const file = `/etc/wireguard/${iface}.conf`;
  await host.writeFile(file, config, 0o600);
  await host.exec("wg-quick", ["up", file], { reject: true });
}

describe("lab (network namespaces)", function () {
  this.timeout(60_000);
  let sut: Lab;
  let server: LabHost;
  let device: LabHost;

  before(async function () {
    requirePrerequisite(this, missingLab());
    sut = await createLab();
    server = await sut.addHost("server");
    device = await sut.addHost("device", { behindNat: true });
    await server.startSshd();
    await device.startSshd();
  });

  after(async () => {
    await sut?.destroy();
  });

  it("lets a device behind the NAT reach internet hosts and the machine's root namespace", async () => {
    const toServer = await device.probeTcp(server.address, 22);
    assert.equal(toServer.connected, true);
    assert.match(toServer.banner, /^SSH-2\.0-/);

    const listener = net.createServer((socket) => socket.end("hello from root\n"));
    await new Promise<void>((resolve) => listener.listen(0, sut.rootAddress, resolve));
    try {
      const port = (listener.address() as net.AddressInfo).port;
      const toRoot = await device.probeTcp(sut.rootAddress, port);
      assert.equal(toRoot.banner, "hello from root\n");
    } finally {
      listener.close();
    }
  });

  it("drops every inbound connection to the device, even from a host with a route to its LAN", async () => {
    assert.notEqual(device.address, device.internetAddress);
    const lan = sut.host("device").record.lan!;
    await server.exec("ip", ["route", "add", lan.cidr, "via", device.internetAddress], {
      reject: true,
    });
    try {
      assert.equal((await server.probeTcp(device.address, 22, 1000)).connected, false);
      assert.equal((await server.probeTcp(device.internetAddress, 22, 1000)).connected, false);
    } finally {
      await server.exec("ip", ["route", "del", lan.cidr]);
    }
    // and the device's own sshd does answer inside the device
    assert.match((await device.probeTcp("127.0.0.1", 22)).banner, /^SSH-2\.0-/);
  });

  it("frees a removed host's address at once, even while its namespace lingers: the next host given it is the one reached", async () => {
    const old = await sut.addHost("old");
    const address = old.address;
    // The device's NAT router learns the old host's MAC.
    await device.probeTcp(address, 22, 1000);
    // As a child sshd forked after the teardown listed the pids would: hold the namespace.
    const held = fs.openSync(`/run/netns/${old.record.netns}`, "r");
    let next: LabHost | null = null;
    try {
      await sut.removeHost("old");
      const links = execFileSync(
        "nsenter",
        [`--net=/proc/${process.pid}/fd/${held}`, "ip", "-o", "link", "show", "type", "veth"],
        { encoding: "utf8" },
      );
      assert.equal(links.trim(), "", "the lingering namespace is off the segment");
      next = await sut.addHost("next");
      assert.equal(next.address, address, "the lab hands the freed address out again");
      await next.startSshd();
      assert.match((await device.probeTcp(address, 22, 5000)).banner, /^SSH-2\.0-/);
    } finally {
      fs.closeSync(held);
      if (next) await sut.removeHost("next");
    }
  });

  it("carries traffic over WireGuard between the NAT'ed device and a server host", async () => {
    const d: WgKeyPair = generateKeyPair();
    const s: WgKeyPair = generateKeyPair();
    const psk = generatePresharedKey();
    const suffix = sut.name.slice(1, 7);
    const [deviceIf, serverIf] = [`stlabd${suffix}`, `stlabs${suffix}`];
    await wgUp(
      server,
      serverIf,
      renderWgQuickConfig({
        privateKey: s.privateKey,
        address: "10.211.7.2",
        prefix: 30,
        listenPort: 51820,
        peer: { publicKey: d.publicKey, presharedKey: psk, allowedIp: "10.211.7.1" },
      }),
    );
    await wgUp(
      device,
      deviceIf,
      renderWgQuickConfig({
        privateKey: d.privateKey,
        address: "10.211.7.1",
        prefix: 30,
        peer: {
          publicKey: s.publicKey,
          presharedKey: psk,
          allowedIp: "10.211.7.2",
          endpoint: { host: server.address, port: 51820 },
          persistentKeepalive: 25,
        },
      }),
    );
    // Device to server over the tunnel, then server back to the device: the
    // reverse direction only works because the device's packets opened the NAT.
    // The first handshake can take a moment on a loaded machine: retry, don't sleep.
    let out = "";
    await waitFor(
      async () => (out = (await device.probeTcp("10.211.7.2", 22)).banner) !== "",
      "tunnel",
      20_000,
    );
    assert.match(out, /^SSH-2\.0-/);
    const back = await server.probeTcp("10.211.7.1", 22);
    assert.match(back.banner, /^SSH-2\.0-/);
    await device.exec("wg-quick", ["down", `/etc/wireguard/${deviceIf}.conf`], { reject: true });
    await server.exec("wg-quick", ["down", `/etc/wireguard/${serverIf}.conf`], { reject: true });
    assert.equal(fs.existsSync(`/var/run/wireguard/${deviceIf}.sock`), false);
  });

  it("keeps users created in a host out of the machine's and the other hosts' /etc, /home, /var/lib and /var/log", async () => {
    const user = `support${Math.floor(Math.random() * 0xffffff).toString(16)}`;
    await device.exec("useradd", ["--create-home", "--shell", "/bin/bash", user], { reject: true });
    await device.writeFile(`/etc/sudoers.d/${user}`, `${user} ALL=(ALL) NOPASSWD:ALL\n`, 0o440);

    assert.equal((await device.exec("id", ["-u", user])).exitCode, 0);
    const sudo = await device.exec("sudo", ["-u", user, "sudo", "-n", "id", "-u"]);
    assert.equal(sudo.stdout, "0");
    assert.equal(sudo.stderr, "");
    assert.equal((await device.exec("hostname")).stdout, "device");
    assert.equal(fs.readFileSync("/etc/passwd", "utf8").includes(user), false);
    assert.equal(fs.existsSync(`/home/${user}`), false);
    assert.equal(fs.existsSync(`/etc/sudoers.d/${user}`), false);
    await device.exec("mkdir", ["-p", `/var/lib/${user}`], { reject: true });
    assert.equal((await device.exec("test", ["-d", `/var/lib/${user}`])).exitCode, 0);
    assert.equal(fs.existsSync(`/var/lib/${user}`), false, "/var/lib writes stay in the host");
    await device.exec("mkdir", ["-p", `/var/log/support-tunnel/${user}`], { reject: true });
    assert.equal(
      fs.existsSync(`/var/log/support-tunnel/${user}`),
      false,
      "/var/log writes (a device's session record) stay in the host",
    );
    assert.notEqual(
      (await server.exec("test", ["-e", `/var/log/support-tunnel/${user}`])).exitCode,
      0,
    );
    assert.notEqual((await server.exec("id", ["-u", user])).exitCode, 0);
  });

  it("gives each host's users uids of their own, so killing one host's user spares the others", async () => {
    const user = `support${Math.floor(Math.random() * 0xffffff).toString(16)}`;
    await device.exec("useradd", ["--no-create-home", user], { reject: true });
    await server.exec("useradd", ["--no-create-home", user], { reject: true });
    const onDevice = Number((await device.exec("id", ["-u", user])).stdout);
    const onServer = Number((await server.exec("id", ["-u", user])).stdout);
    assert.ok(onDevice >= 100_000 && onServer >= 100_000, `${onDevice}, ${onServer}`);
    assert.notEqual(onDevice, onServer);
  });

  it("accepts root and users made in the host over SSH with their keys, presenting the host key it returned", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stlab-ssh-"));
    try {
      const key = path.join(dir, "id_ed25519");
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
      const pub = fs.readFileSync(`${key}.pub`, "utf8").trim();
      const host = await sut.addHost("sshbox");
      const sshd = await host.startSshd({ authorizedKeysForRoot: [pub] });
      fs.writeFileSync(path.join(dir, "known_hosts"), `${host.address} ${sshd.hostPublicKey}\n`);
      const ssh = (user: string, command: string) =>
        execFileSync(
          "ssh",
          [
            ...["-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"],
            ...["-o", `UserKnownHostsFile=${path.join(dir, "known_hosts")}`],
            `${user}@${host.address}`,
            command,
          ],
          { encoding: "utf8", timeout: 20_000 },
        ).trim();
      assert.equal(ssh("root", "hostname -I"), host.address);

      // A user made in the host the way the device makes its support user.
      const user = `support${Math.floor(Math.random() * 0xffffff).toString(16)}`;
      await host.exec("useradd", ["--create-home", "--shell", "/bin/bash", user], { reject: true });
      await host.exec(
        "install",
        ["-d", "-m", "700", "-o", user, "-g", user, `/home/${user}/.ssh`],
        {
          reject: true,
        },
      );
      await host.writeFile(
        `/home/${user}/.ssh/authorized_keys`,
        `from="${sut.rootAddress}" ${pub}\n`,
        0o600,
      );
      await host.exec("chown", [`${user}:${user}`, `/home/${user}/.ssh/authorized_keys`], {
        reject: true,
      });
      assert.equal(ssh(user, "id -un"), user);
      await sut.removeHost("sshbox");
      assert.equal(namespaces().includes(host.netns), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lets other processes attach hosts to the lab by name at once, and the hosts outlive them", async () => {
    const attach = (host: string) =>
      labChild(
        `const lab = require(process.argv[1]);
         lab.openLab(process.argv[2]).then((l) => l.addHost(process.argv[3])).then((h) => console.log(h.address)).then(() => process.exit(0));`,
        [sut.name, host],
      );
    const [a, b] = [attach("extra1"), attach("extra2")];
    const addresses = await Promise.all([a.firstLine, b.firstLine]);
    assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
    assert.notEqual(addresses[0], addresses[1]);
    const lab = await openLab(sut.name);
    for (const [i, name] of ["extra1", "extra2"].entries()) {
      const attached = lab.host(name);
      assert.equal(attached.address, addresses[i]);
      assert.equal((await attached.exec("hostname", ["-I"])).stdout.trim(), addresses[i]);
    }
    await sut.removeHost("extra1");
    await sut.removeHost("extra2");
  });
});

describe("lab host names", function () {
  this.timeout(60_000);
  let sut: Lab | undefined;

  before(async function () {
    requirePrerequisite(this, missingLab());
    sut = await createLab();
  });

  after(async () => {
    await sut?.destroy();
  });

  it("reuses a host name left half-built by a process that died, and refuses one in use", async () => {
    const lab = sut!;
    const dead = spawn("true");
    await new Promise((resolve) => dead.once("exit", resolve));
    // What a `support create` killed in the middle of addHost leaves in lab.json.
    const file = path.join(lab.dir, "lab.json");
    const state = JSON.parse(fs.readFileSync(file, "utf8")) as { hosts: Record<string, unknown> };
    state.hosts.server = {
      name: "server",
      netns: `stlab-${lab.name}-server`,
      index: 99,
      behindNat: false,
      address: "0.0.0.0",
      internetAddress: "0.0.0.0",
      holderPid: 0,
      holderStartTime: null,
      dir: path.join(lab.dir, "hosts", "server"),
      ready: false,
      creatorPid: dead.pid,
      creatorStartTime: null,
    };
    fs.writeFileSync(file, JSON.stringify(state));
    assert.deepEqual(
      lab.hosts().map((h) => h.name),
      [],
    );

    const server = await lab.addHost("server");

    assert.equal((await server.exec("hostname")).stdout, "server");
    await assert.rejects(lab.addHost("server"), /already has a host server/);
  });
});

describe("lab teardown", function () {
  this.timeout(60_000);

  before(function () {
    requirePrerequisite(this, missingLab());
  });

  it("leaves no namespace, veth, process, mount or directory after destroy", async () => {
    const sut = await createLab();
    try {
      const device = await sut.addHost("device", { behindNat: true });
      await sut.addHost("server");
      await device.spawnDetached("sleep", ["600"], path.join(device.dir, "sleep.log"));
      const iface = `stlabw${sut.name.slice(1, 7)}`;
      const key = generateKeyPair();
      await wgUp(
        device,
        iface,
        `[Interface]\nPrivateKey = ${key.privateKey}\nAddress = 10.211.9.1/30\n`,
      );
      assert.equal(fs.existsSync(`/var/run/wireguard/${iface}.sock`), true);
      const pids = sut.hosts().map((h) => h.holderPid);
      await sut.destroy();
      assert.deepEqual(leftoversOf(sut.name, sut.rootInterface, pids), []);
      assert.equal(fs.existsSync(`/var/run/wireguard/${iface}.sock`), false);
    } finally {
      await sut.destroy();
    }
  });

  it("keeps a lab created with keepAfterExit after its creator exits, until someone destroys it", async () => {
    const creator = labChild(
      `const lab = require(process.argv[1]);
       lab.createLab({ keepAfterExit: true }).then(async (l) => { await l.addHost("server");
         console.log(JSON.stringify({ name: l.name, root: l.rootInterface })); process.exit(0); });`,
      [],
    );
    const created = JSON.parse(await creator.firstLine) as { name: string; root: string };
    assert.equal(await creator.exited, 0);
    let sut: Lab | undefined;
    try {
      assert.equal((await cleanupLeftoverLabs()).includes(created.name), false);
      sut = await openLab(created.name);
      const server = sut.host("server");
      assert.equal((await server.exec("hostname")).stdout, "server");
    } finally {
      await (sut ?? (await openLab(created.name).catch(() => undefined)))?.destroy();
    }
    assert.deepEqual(leftoversOf(created.name, created.root, []), []);
  });

  it("lab-cli makes a lab that outlives it, lists it and destroys it", async () => {
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, [path.join(__dirname, "lab-cli.js"), ...args], {
        encoding: "utf8",
        timeout: 60_000,
      }).trim();
    const name = `cli${Math.floor(Math.random() * 0xffffff).toString(16)}`;
    let root = "";
    try {
      const [created, rootAddress] = cli("create", name).split(" ");
      root = (await openLab(name)).rootInterface;
      assert.equal(created, name);
      assert.match(cli("add-host", name, "dev", "--nat"), /^dev 172\.31\./);
      assert.match(cli("list"), new RegExp(`^${name} \\S+ live dev$`, "m"));
      assert.ok(rootAddress);
    } finally {
      if (root) cli("destroy", name);
    }
    assert.deepEqual(leftoversOf(name, root, []), []);
  });

  it("cleans a lab whose owner was killed", async () => {
    const owner = labChild(
      `const lab = require(process.argv[1]);
       lab.createLab().then(async (l) => { const h = await l.addHost("device", { behindNat: true });
         console.log(JSON.stringify({ name: l.name, root: l.rootInterface, pid: h.holderPid })); });`,
      [],
    );
    const lab = JSON.parse(await owner.firstLine) as { name: string; root: string; pid: number };
    owner.child.kill("SIGKILL");
    await owner.exited;

    assert.notDeepEqual(leftoversOf(lab.name, lab.root, [lab.pid]), []);

    await cleanupLeftoverLabs();

    // (another process's createLab may have cleaned it first: what matters is that it is gone)
    assert.deepEqual(leftoversOf(lab.name, lab.root, [lab.pid]), []);
  });

  it("destroys its lab and exits 130 on Ctrl-C", async () => {
    const owner = labChild(
      `const lab = require(process.argv[1]);
       lab.createLab().then(async (l) => { const h = await l.addHost("server");
         console.log(JSON.stringify({ name: l.name, root: l.rootInterface, pid: h.holderPid })); setInterval(() => {}, 1000); });`,
      [],
    );
    const lab = JSON.parse(await owner.firstLine) as { name: string; root: string; pid: number };
    owner.child.kill("SIGINT");
    assert.equal(await owner.exited, 130);
    assert.deepEqual(leftoversOf(lab.name, lab.root, [lab.pid]), []);
  });
});
