// The real WireGuard tools accept what we render: wg-quick reads our wg-quick
// files, and wg setconf (on a wireguard-go interface in a throwaway network
// namespace) takes the part wg-quick hands it and reports back the same settings.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { access, chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { missingCommands, missingRoot, requirePrerequisite } from "@support-tunnel/testkit";
import { generateKeyPair, generatePresharedKey } from "./crypto";
import { deviceWgConfig, interfaceName, renderWgQuickConfig, serverWgConfig } from "./wireguard";

const server = generateKeyPair();
const device = generateKeyPair();
const psk = generatePresharedKey();
const network = "10.77.3.0/30";
const tunnelId = randomUUID();

// An empty network namespace has only a down loopback: a handshake from the
// keepalive can't leave it, so the endpoint may be anything.
const deviceSide = deviceWgConfig({
  devicePrivateKey: device.privateKey,
  psk,
  network,
  serverPublicKey: server.publicKey,
  endpoint: "127.0.0.1",
  wgPort: 51820,
});
const serverSide = serverWgConfig({
  serverPrivateKey: server.privateKey,
  psk,
  network,
  devicePublicKey: device.publicKey,
  listenPort: 51820,
});
const sides = [
  { side: "device" as const, config: deviceSide },
  { side: "server" as const, config: serverSide },
];

/** What wg-quick hands to `wg setconf`: our file without the interface address. */
function setconfPart(config: (typeof sides)[number]["config"]): string {
  return renderWgQuickConfig(config).replace(/^Address = .*\n/m, "");
}

/** `[Section]` → sorted `Key = value` lines, so files that differ only in order compare equal. */
function settings(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith("[")) {
      section = line;
      out[section] = [];
    } else {
      const [key, ...rest] = line.split("=");
      out[section]!.push(`${key!.trim()} = ${rest.join("=").trim()}`);
    }
  }
  for (const lines of Object.values(out)) lines.sort();
  return out;
}

describe("rendered WireGuard configs against the real tools", function () {
  let dir = "";

  before(async function () {
    requirePrerequisite(this, missingRoot() ?? missingCommands("wg", "wg-quick"));
    dir = await mkdtemp(path.join(tmpdir(), "st-common-wg-"));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const { side, config } of sides) {
    it(`wg-quick strip of our ${side} wg-quick file drops only the address`, async () => {
      const file = path.join(dir, `${interfaceName(tunnelId, side)}.conf`);
      await writeFile(file, renderWgQuickConfig(config), { mode: 0o600 });
      await chmod(file, 0o600);
      const result = await execa("wg-quick", ["strip", file], { timeout: 10_000 });
      assert.equal(result.stderr, "");
      assert.equal(result.stdout, setconfPart(config));
    });
  }

  describe("wg setconf on a wireguard-go interface", function () {
    before(function () {
      requirePrerequisite(this, missingCommands("wireguard-go", "unshare"));
    });

    for (const { side, config } of sides) {
      it(`takes the setconf part of our ${side} file and shows the same settings back`, async () => {
        const name = interfaceName(randomUUID(), side);
        const file = path.join(dir, `${name}.setconf`);
        await writeFile(file, setconfPart(config), { mode: 0o600 });
        const wgGo = execa("unshare", ["--net", "--", "wireguard-go", "-f", name], {
          timeout: 20_000,
          reject: false,
          env: { WG_PROCESS_FOREGROUND: "1" },
        });
        try {
          await waitForSocket(name);
          await execa("wg", ["setconf", name, file], { timeout: 10_000 });
          const shown = await execa("wg", ["showconf", name], { timeout: 10_000 });
          const back = settings(shown.stdout);
          // Without a ListenPort (the device end) WireGuard picks a random one.
          if (config.listenPort === undefined) {
            back["[Interface]"] = (back["[Interface]"] ?? []).filter(
              (l) => !l.startsWith("ListenPort"),
            );
          }
          assert.deepEqual(back, settings(setconfPart(config)));
        } finally {
          wgGo.kill("SIGTERM");
          await wgGo;
        }
      });
    }
  });
});

/** wireguard-go is ready once its control socket exists; gives up after about 10 s. */
async function waitForSocket(name: string): Promise<void> {
  const socket = `/var/run/wireguard/${name}.sock`;
  for (let i = 0; i < 200; i++) {
    try {
      await access(socket);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`wireguard-go did not create ${socket}`);
}
