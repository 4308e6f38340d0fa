// common's WG_UP_SCRIPT against the real thing, in two lab hosts: an interface
// wg-quick would have made (keys, peer, address, MTU), whose ends shake hands,
// that `wg-quick down` takes away, and nothing left when it cannot finish.
import { strict as assert } from "node:assert";
import {
  generateKeyPair,
  generatePresharedKey,
  renderWgQuickConfig,
  WG_UP_SCRIPT,
} from "@support-tunnel/common";
import { requirePrerequisite, waitFor } from "@support-tunnel/testkit";
import { createLab, type Lab } from "./lab";
import type { LabHost } from "./host";
import { missingLab } from "./prerequisites";

describe("WG_UP_SCRIPT (lab)", function () {
  this.timeout(120_000);
  let lab: Lab;
  let server: LabHost;
  let device: LabHost;

  before(async function () {
    requirePrerequisite(this, missingLab());
    lab = await createLab();
    server = await lab.addHost("wgserver");
    device = await lab.addHost("wgdevice");
  });

  after(async () => {
    await lab?.destroy();
  });

  const up = (host: LabHost, conf: string) =>
    host.exec("sh", ["-c", WG_UP_SCRIPT, "sh", conf], { env: { LOG_LEVEL: "silent" } });

  async function writeConfig(host: LabHost, conf: string, text: string): Promise<void> {
    await host.exec("mkdir", ["-p", "/etc/wireguard"], { reject: true });
    await host.writeFile(conf, text, 0o600);
  }

  it("brings up both ends as wg-quick would, and wg-quick takes them down", async () => {
    const s = generateKeyPair();
    const d = generateKeyPair();
    const psk = generatePresharedKey();
    const serverConf = "/etc/wireguard/stwgs0.conf";
    const deviceConf = "/etc/wireguard/stwgd0.conf";
    await writeConfig(
      server,
      serverConf,
      renderWgQuickConfig({
        privateKey: s.privateKey,
        address: "10.98.0.1",
        prefix: 30,
        listenPort: 51820,
        peer: { publicKey: d.publicKey, presharedKey: psk, allowedIp: "10.98.0.2" },
      }),
    );
    await writeConfig(
      device,
      deviceConf,
      renderWgQuickConfig({
        privateKey: d.privateKey,
        address: "10.98.0.2",
        prefix: 30,
        peer: {
          publicKey: s.publicKey,
          presharedKey: psk,
          allowedIp: "10.98.0.1",
          endpoint: { host: server.address, port: 51820 },
          persistentKeepalive: 25,
        },
      }),
    );
    for (const [host, conf] of [
      [server, serverConf],
      [device, deviceConf],
    ] as const) {
      const result = await up(host, conf);
      assert.equal(result.exitCode, 0, result.stderr);
    }

    const shown = (await device.exec("wg", ["show", "stwgd0", "dump"], { reject: true })).stdout;
    const [iface, peer] = shown.split("\n").map((l) => l.split("\t"));
    assert.equal(iface![0], d.privateKey);
    assert.deepEqual(
      [peer![0], peer![1], peer![2], peer![3], peer![7]],
      [s.publicKey, psk, `${server.address}:51820`, "10.98.0.1/32", "25"],
    );
    const link = JSON.parse(
      (await device.exec("ip", ["-j", "address", "show", "dev", "stwgd0"], { reject: true }))
        .stdout,
    ) as { mtu: number; flags: string[]; addr_info: { local: string; prefixlen: number }[] }[];
    const uplinkMtu = Number(
      (
        await device.exec(
          "sh",
          [
            "-c",
            'cat "/sys/class/net/$(ip -4 route get "$1" | sed -n "s/.* dev \\([^ ]*\\).*/\\1/p")/mtu"',
            "sh",
            server.address,
          ],
          { reject: true },
        )
      ).stdout,
    );
    assert.equal(link[0]!.mtu, uplinkMtu - 80, "80 below the path's MTU, as wg-quick sets it");
    assert.ok(link[0]!.flags.includes("UP"));
    assert.deepEqual(
      link[0]!.addr_info.filter((a) => a.local.includes(".")).map((a) => [a.local, a.prefixlen]),
      [["10.98.0.2", 30]],
    );
    // Traffic into the tunnel (a port nothing listens on) makes the two ends shake hands.
    await device.probeTcp("10.98.0.1", 9, 2000, 0);
    await waitFor(
      async () => {
        const r = await server.exec("wg", ["show", "stwgs0", "latest-handshakes"], {
          reject: true,
        });
        return Number(r.stdout.split("\t")[1]) > 0;
      },
      "a handshake between the two ends",
      30_000,
    );

    const again = await up(device, deviceConf);
    assert.notEqual(again.exitCode, 0);
    assert.match(again.stderr, /stwgd0 already exists/);

    const down = await device.exec("wg-quick", ["down", deviceConf]);
    assert.equal(down.exitCode, 0, down.stderr);
    assert.equal((await device.exec("ip", ["link", "show", "dev", "stwgd0"])).exitCode, 1);
  });

  it("leaves no interface behind when it cannot finish", async () => {
    const conf = "/etc/wireguard/stwgd1.conf";
    const d = generateKeyPair();
    const text = renderWgQuickConfig({
      privateKey: d.privateKey,
      address: "10.98.1.2",
      prefix: 30,
      peer: {
        publicKey: d.publicKey,
        presharedKey: generatePresharedKey(),
        allowedIp: "10.98.1.1",
      },
    });
    // A key wg refuses: the interface exists by then, and must go again.
    await writeConfig(device, conf, text.replace(/^PresharedKey = .*$/m, "PresharedKey = nope"));
    const result = await up(device, conf);
    assert.notEqual(result.exitCode, 0);
    assert.equal((await device.exec("ip", ["link", "show", "dev", "stwgd1"])).exitCode, 1);
  });
});
