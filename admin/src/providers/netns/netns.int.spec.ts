// The netns provider and the server setup against the real thing: a lab host
// with sshd, node-ssh with a pinned host key, wg-quick on wireguard-go.
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
import { createLab, missingLab, openLab, type Lab } from "@support-tunnel/lab";
import { requirePrerequisite } from "@support-tunnel/testkit";
import type { ResolvedConfig } from "../../config";
import { resolveIdentity } from "../../identity";
import { configureServer, serverPaths } from "../../server-setup";
import { connectNodeSsh } from "../../ssh/remote-shell";
import { NetnsProvider } from "./index";

const ID = "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b" as TunnelId;

describe("netns provider and server setup (lab)", function () {
  this.timeout(120_000);
  let lab: Lab;
  let dir: string;
  let sut: NetnsProvider;

  before(async function () {
    requirePrerequisite(this, missingLab());
    dir = await mkdtemp(join(tmpdir(), "support-netns-int-"));
    lab = await createLab();
    const config: ResolvedConfig = { path: join(dir, "admin.json"), dir, file: null, home: dir };
    const identity = await resolveIdentity(config, join(dir, "id_ed25519"));
    sut = new NetnsProvider({
      lab: lab.name,
      privateKeyPath: identity.privateKeyPath,
      publicKey: identity.publicKey,
      // The lab package itself, checked against the provider's NetnsLab at compile time.
      open: openLab,
    });
  });

  after(async () => {
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("makes a server that takes WireGuard and the egress key, lists it, and destroys it whole", async () => {
    const server = await sut.obtain({ tunnelId: ID, expiresAt: new Date(Date.now() + 3600_000) });
    assert.equal(server.interfaceName, interfaceName(ID, "server"));
    assert.deepEqual(await sut.list(), [{ instanceId: server.instanceId, tunnelId: ID }]);

    const device = generateKeyPair();
    const shell = await connectNodeSsh(server.ssh);
    try {
      const { egressPublicKey } = await configureServer(shell, {
        tunnelId: ID,
        interfaceName: server.interfaceName,
        wgPort: server.wgPort,
        network: "10.99.0.0/30",
        devicePublicKey: device.publicKey,
        psk: generatePresharedKey(),
        serverPrivateKey: generateKeyPair().privateKey,
      });
      assert.match(egressPublicKey, /^ssh-ed25519 \S+ support-tunnel-egress$/);
      const paths = serverPaths(ID, server.interfaceName);
      const peers = await shell.exec(["wg", "show", server.interfaceName, "peers"]);
      assert.equal(peers.stdout.trim(), device.publicKey, "the device is the only peer");
      const port = await shell.exec(["wg", "show", server.interfaceName, "listen-port"]);
      assert.equal(port.stdout.trim(), String(server.wgPort));
      const modes = await shell.exec([
        "stat",
        "-c",
        "%a %n",
        paths.dir,
        paths.wgConfig,
        paths.egressKey,
      ]);
      assert.deepEqual(
        modes.stdout
          .trim()
          .split("\n")
          .map((l) => l.split(" ")[0]),
        ["700", "600", "600"],
      );
    } finally {
      shell.dispose();
    }

    await sut.destroy({ instanceId: server.instanceId, tunnelId: ID });
    assert.deepEqual(await sut.list(), []);
    assert.ok(!lab.hosts().some((h) => server.instanceId.endsWith(h.name)));
    await sut.destroy({ instanceId: server.instanceId, tunnelId: ID }); // idempotent
  });

  it("refuses a server whose host key is not the pinned one", async () => {
    const other = "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5c" as TunnelId;
    const server = await sut.obtain({
      tunnelId: other,
      expiresAt: new Date(Date.now() + 3600_000),
    });
    try {
      const wrong =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
      await assert.rejects(
        connectNodeSsh({ ...server.ssh, hostKey: wrong }),
        /cannot reach the tunnel server over SSH/,
      );
    } finally {
      await sut.destroy({ instanceId: server.instanceId, tunnelId: other });
    }
  });
});
