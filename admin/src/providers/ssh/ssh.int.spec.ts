// The ssh provider against a real host of its own (a lab host with sshd): two
// tunnels side by side, each with its own port, and destroy removing one
// tunnel's interface and directory while the other keeps working.
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

  async function bringUp(server: TunnelServer, tunnelId: TunnelId): Promise<void> {
    const shell = await connectNodeSsh(server.ssh);
    try {
      await configureServer(shell, {
        tunnelId,
        interfaceName: server.interfaceName,
        wgPort: server.wgPort,
        network: tunnelId === A ? "10.98.0.0/30" : "10.98.0.4/30",
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

  it("gives each tunnel its own port, and destroy removes only that tunnel's interface and directory", async () => {
    const expiresAt = new Date(Date.now() + 3600_000);
    const a = await sut.obtain({ tunnelId: A, expiresAt });
    const b = await sut.obtain({ tunnelId: B, expiresAt });
    try {
      assert.equal(a.wgPort, FIRST_WG_PORT);
      assert.notEqual(a.wgPort, b.wgPort);
      await bringUp(a, A);
      await bringUp(b, B);
      assert.deepEqual(
        (await sut.list()).map((s) => s.tunnelId).sort(),
        [A, B].sort(),
        "both tunnels are listed",
      );

      await sut.destroy({ instanceId: a.instanceId, tunnelId: A });
      assert.ok(!(await links()).includes(interfaceName(A, "server")), "a's interface is gone");
      assert.ok(!(await exists(serverPaths(A, a.interfaceName).dir)), "and its directory");
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
});
