import * as assert from "node:assert/strict";
import {
  includeLine,
  pinnedHostKeyLines,
  renderSshHostBlock,
  sshHostAlias,
  withInclude,
  type SshHostBlockInput,
} from "./ssh-config";

const tunnelId = "3f6c0b9e-6d2a-4c1e-9a57-0c2b8f1d4e21";
const input: SshHostBlockInput = {
  tunnelId,
  supportUser: "support7a3f0c12",
  network: "10.99.0.0/30",
  deviceAddress: "10.99.0.1",
  hostKeyAlias: `device.${tunnelId}.support-tunnel`,
  proxy: {
    node: "/usr/bin/node",
    bin: "/opt/support tunnel/admin/dist/bin.js",
    config: "/home/alice/.config/support-tunnel/admin.json",
  },
  agentSocket: "/home/alice/.config/support-tunnel/control/3f6c0b9e6d2a4c1e.agent",
  publicKey: `/home/alice/.config/support-tunnel/ssh/${tunnelId}.egress.pub`,
  knownHosts: `/home/alice/.config/support-tunnel/ssh/${tunnelId}.known_hosts`,
};

describe("the ssh-config Host block", () => {
  it("names the host support-<8 hex> and reaches the device only through support proxy, strictly pinned", () => {
    assert.equal(sshHostAlias(tunnelId), "support-3f6c0b9e");
    const sut = renderSshHostBlock(input);
    const lines = sut.split("\n").map((l) => l.trim());
    assert.ok(lines.includes("Host support-3f6c0b9e"));
    assert.ok(lines.includes("User support7a3f0c12"));
    assert.ok(
      lines.includes(
        `ProxyCommand /usr/bin/node '/opt/support tunnel/admin/dist/bin.js' proxy --config /home/alice/.config/support-tunnel/admin.json ${tunnelId}`,
      ),
      sut,
    );
    for (const line of [
      "IdentitiesOnly yes",
      "StrictHostKeyChecking yes",
      `HostKeyAlias device.${tunnelId}.support-tunnel`,
      "GlobalKnownHostsFile /dev/null",
      "ForwardAgent no",
      "ControlMaster no",
      `IdentityAgent ${input.agentSocket}`,
    ])
      assert.ok(lines.includes(line), line);
  });

  it("refuses paths that ssh_config or the ProxyCommand's shell would read as more than a path", () => {
    for (const bad of [
      "/tmp/a%h",
      "/tmp/$HOME",
      "/tmp/${X}",
      '/tmp/a"b',
      "/tmp/a\nProxyCommand sh",
      "/tmp/a'b",
      "/tmp/a#b",
      "~/x",
      "relative/path",
    ]) {
      assert.throws(
        () => renderSshHostBlock({ ...input, agentSocket: bad }),
        /cannot go in an ssh config/,
        bad,
      );
      assert.throws(
        () => renderSshHostBlock({ ...input, proxy: { ...input.proxy, config: bad } }),
        /cannot go in an ssh config/,
        bad,
      );
      assert.throws(() => includeLine(bad), /cannot go in an ssh config/, bad);
    }
  });

  it("refuses a device, account or alias that is not the tunnel's", () => {
    assert.throws(
      () => renderSshHostBlock({ ...input, deviceAddress: "10.99.0.2" }),
      /device's address/,
    );
    assert.throws(
      () => renderSshHostBlock({ ...input, supportUser: "root\n  ProxyCommand x" }),
      /support user/,
    );
    assert.throws(() => renderSshHostBlock({ ...input, hostKeyAlias: "*" }), /host key alias/);
    assert.throws(() => renderSshHostBlock({ ...input, tunnelId: "x; rm -rf /" }));
  });

  it("quotes a path with a space as ssh_config reads it", () => {
    const sut = renderSshHostBlock({ ...input, knownHosts: "/home/a b/kh" });
    assert.match(sut, /^ {2}UserKnownHostsFile "\/home\/a b\/kh"$/m);
    assert.equal(includeLine("/home/a b/ssh"), 'Include "/home/a b/ssh/*.conf"');
  });
});

describe("the Include in ~/.ssh/config", () => {
  const line = "Include /home/alice/.config/support-tunnel/ssh/*.conf";

  it("goes at the top, before any Host block, once", () => {
    const sut = withInclude("Host elsewhere\n  User bob\n", line);
    assert.ok(sut);
    assert.ok(sut.indexOf(line) < sut.indexOf("Host elsewhere"));
    assert.equal(withInclude(sut, line), null);
    assert.equal(withInclude(`  ${line}  \n`, line), null);
  });
});

describe("the device's pinned host key from the server", () => {
  const alias = `device.${tunnelId}.support-tunnel`;
  it("keeps only well-formed lines under the tunnel's alias", () => {
    const sut = pinnedHostKeyLines(
      [
        `${alias} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBase64+/=`,
        `other.host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA`,
        `${alias} ssh-ed25519 not;base64`,
        `${alias} @cert-authority AAAA`,
        `@revoked ${alias} ssh-ed25519 AAAA`,
        "",
      ].join("\n"),
      alias,
    );
    assert.deepEqual(sut, [`${alias} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBase64+/=`]);
  });
});
