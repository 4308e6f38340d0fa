// End to end: the ports the customer allows. The device allows port 80 only
// (`--allow-port 80`); `support forward` reaches its web server on 80 and is
// refused 8081; root on the tunnel server, with the egress key or without,
// reaches SSH and 80 but not 8081 (permitopen and the device's nftables table);
// `support collect` brings back a bundle; both are in the customer's timeline;
// after stop the device has nothing of the tunnel left, its table included.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { interfaceName } from "@support-tunnel/common";
import { requirePrerequisite, waitFor } from "@support-tunnel/testkit";
import { execa } from "execa";
import { DEVICE_BIN, DemoWorld, SUPPORT_BIN, deviceHas } from "./demo";
import type { LabHost } from "./host";
import { missingLab } from "./prerequisites";

interface ServerRecord {
  server: { instanceId: string; interfaceName: string };
  device: { address: string; supportUser: string; hostKeyAlias: string };
}

/** A web server on the device answering `text` on every address. */
const webServer = (port: number, text: string) =>
  `require("http").createServer((q, s) => s.end(${JSON.stringify(text)})).listen(${port}, "0.0.0.0")`;

/** From the host it runs in: "open" when a TCP connection to addr:port is made, else why not. */
const probe = (addr: string, port: number) =>
  `const s = require("net").connect(${port}, ${JSON.stringify(addr)});` +
  `s.setTimeout(3000);` +
  `s.once("connect", () => { console.log("open"); process.exit(0); });` +
  `s.once("timeout", () => { console.log("timeout"); process.exit(1); });` +
  `s.once("error", (e) => { console.log(e.code); process.exit(1); });`;

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
}

describe("support forward and collect: the ports the customer allows (lab)", function () {
  this.timeout(300_000);
  let world: DemoWorld;
  let device: LabHost;
  let tunnelId: string;

  before(async function () {
    requirePrerequisite(this, missingLab());
    world = await DemoWorld.start();
    device = await world.addDevice("devfwd");
    // Killed with the lab's host at the end.
    for (const [port, text] of [
      [80, "device web ui"],
      [8081, "not for support"],
    ] as const)
      device
        .spawn(process.execPath, ["-e", webServer(port, text)], { stdin: "ignore" })
        .catch(() => undefined);
    const requested = await device.exec(
      process.execPath,
      [DEVICE_BIN, "request", "--json", "--allow-port", "80"],
      { env: { SUPPORT_API_URL: world.api.url }, timeoutMs: 30_000 },
    );
    assert.equal(requested.exitCode, 0, requested.stderr);
    const tunnel = JSON.parse(requested.stdout) as {
      tunnelId: string;
      presharedKey: string;
      allowedPorts: number[];
    };
    assert.deepEqual(tunnel.allowedPorts, [80]);
    tunnelId = tunnel.tunnelId;
    const created = await world.support(["create", tunnelId, "--psk", "-"], {
      input: tunnel.presharedKey + "\n",
    });
    assert.equal(created.exitCode, 0, `${created.stderr}\n${world.agentLogs()}`);
  });

  after(async () => {
    await world?.stop();
  });

  const record = () =>
    JSON.parse(
      fs.readFileSync(
        path.join(path.dirname(world.configPath), "servers", `${tunnelId}.json`),
        "utf8",
      ),
    ) as ServerRecord;

  it("refuses 22 and a port out of range on the device, with exit 2", async () => {
    for (const port of ["22", "0", "70000", "http"]) {
      const r = await device.exec(process.execPath, [DEVICE_BIN, "request", "--allow-port", port], {
        env: { SUPPORT_API_URL: world.api.url },
      });
      assert.equal(r.exitCode, 2, `--allow-port ${port}: ${r.stderr}`);
    }
  });

  it("support show names the allowed port, and the device's status too", async () => {
    const shown = await world.support(["show", tunnelId]);
    assert.match(shown.stdout, /^ports: +80 /m);
    const status = await device.exec(process.execPath, [DEVICE_BIN, "status", tunnelId]);
    assert.match(status.stdout, /^allowed ports: 80$/m);
  });

  it("forward opens the device's web UI on 127.0.0.1 here until Ctrl-C", async () => {
    const child = execa(process.execPath, [SUPPORT_BIN, "forward", tunnelId, "80"], {
      env: { SUPPORT_ADMIN_CONFIG: world.configPath },
      reject: false,
      buffer: true,
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    await waitFor(async () => /http:\/\/127\.0\.0\.1:\d+\//.test(out), "the local URL", 60_000);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)![1]!;
    assert.equal(await get(url), "device web ui");
    assert.equal(await get(url), "device web ui", "a second connection works too");
    child.kill("SIGINT");
    const ended = await child;
    assert.equal(ended.exitCode, 0, String(ended.stderr));
  });

  it("forward refuses at once a port the customer did not allow, with exit 3", async () => {
    const r = await world.support(["forward", tunnelId, "8081"]);
    assert.equal(r.exitCode, 3, r.stderr);
    assert.match(r.stderr, /the customer did not allow port 8081 .*allowed: 80/);
  });

  it("root on the tunnel server reaches SSH and port 80 only, with the egress key or without", async () => {
    const rec = record();
    const server = world.lab.host(rec.server.instanceId.split(":")[1]!);
    const addr = rec.device.address;
    const direct = async (port: number) =>
      (await server.exec(process.execPath, ["-e", probe(addr, port)], { timeoutMs: 15_000 }))
        .stdout;
    assert.equal(await direct(22), "open");
    assert.equal(await direct(80), "open");
    assert.equal(await direct(8081), "timeout", "the device's nftables table drops it");
    const dir = `/var/lib/support-tunnel-server/${tunnelId}`;
    const egress = (port: number) =>
      server.exec(
        "ssh",
        [
          "-F",
          "none",
          "-i",
          `${dir}/egress`,
          "-o",
          "IdentitiesOnly=yes",
          "-o",
          "BatchMode=yes",
          "-o",
          `UserKnownHostsFile=${dir}/known_hosts`,
          "-o",
          `HostKeyAlias=${rec.device.hostKeyAlias}`,
          "-o",
          `BindInterface=${rec.server.interfaceName}`,
          "-W",
          `127.0.0.1:${port}`,
          `${rec.device.supportUser}@${addr}`,
        ],
        { input: "GET / HTTP/1.0\r\n\r\n", timeoutMs: 20_000 },
      );
    const allowed = await egress(80);
    assert.match(allowed.stdout, /device web ui/, allowed.stderr);
    const refused = await egress(8081);
    assert.doesNotMatch(refused.stdout, /not for support/);
    assert.match(refused.stderr, /administratively prohibited/);
  });

  it("collect brings back a bundle whose manifest lists the parts found", async () => {
    const dir = fs.mkdtempSync(path.join(world.tmp, "collect-"));
    const file = path.join(dir, "bundle.tar.gz");
    const r = await world.support(["collect", tunnelId, "-o", file, "--json"]);
    assert.equal(r.exitCode, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as {
      file: string;
      manifest: { parts: { part: string; exitCode: number; bytes: number }[] };
    };
    assert.equal(printed.file, file);
    const parts = new Map(printed.manifest.parts.map((p) => [p.part, p]));
    for (const name of [
      "os",
      "uptime",
      "disks",
      "memory",
      "network-addresses",
      "listening-sockets",
      "dmesg",
    ])
      assert.ok(parts.has(name), `part ${name} in ${[...parts.keys()].join(", ")}`);
    assert.equal(parts.get("os")!.exitCode, 0);
    const listed = await execa("tar", ["-tzf", file]);
    assert.match(listed.stdout, /^support-collect\/manifest\.json$/m);
    assert.match(listed.stdout, /^support-collect\/os\.txt$/m);
    const os = await execa("tar", ["-xzOf", file, "support-collect/os.txt"]);
    assert.match(os.stdout, /devfwd/, "uname -a names the device's host");
    assert.deepEqual(
      fs.readdirSync(dir),
      ["bundle.tar.gz"],
      "nothing but the bundle is left where it was written",
    );
    const again = await world.support(["collect", tunnelId, "-o", file]);
    assert.equal(again.exitCode, 4, "an existing file is not overwritten");
  });

  it("the customer's log shows the forward and the collection; stop leaves nothing on the device", async () => {
    const log = await device.exec(process.execPath, [DEVICE_BIN, "log", tunnelId]);
    assert.equal(log.exitCode, 0, log.stderr);
    assert.match(log.stdout, /port 80 open to forwards/);
    assert.match(log.stdout, /forwarded port 80 \d\d:\d\d–\d\d:\d\d/);
    assert.match(log.stdout, /collected diagnostics \(\d+(\.\d)? (kB|MB)\)/);

    const iface = interfaceName(tunnelId, "device");
    const table = `support_tunnel_${iface}`;
    const tables = async () => (await device.exec("nft", ["list", "tables"])).stdout;
    assert.match(await tables(), new RegExp(table));
    const { supportUser } = record().device;
    const stopped = await world.support(["stop", tunnelId]);
    assert.equal(stopped.exitCode, 0, stopped.stderr);
    await waitFor(
      async () =>
        !(await deviceHas(device, { user: supportUser })) &&
        !(await deviceHas(device, { iface })) &&
        !(await tables()).includes(table),
      "the device to remove the user, the interface and the nftables table",
      30_000,
    );
  });
});
