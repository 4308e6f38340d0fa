import * as assert from "node:assert/strict";
import {
  authorizedKeysLine,
  forcedCommand,
  forwardingOptions,
  renderSudoers,
  SUDOERS_HEADER,
} from "./access";

const tunnelId = "3f6c0b9e-6d2a-4c1e-9a57-0c2b8f1d4e21";
const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForSpecsOnly0000000000000000000 egress";

describe("the support account's access rules", () => {
  it("sudoers: root for the account, and sudo's I/O log on every session run as the account", () => {
    const sut = renderSudoers({
      supportUser: "support7a3f0c12",
      tunnelId,
      logDir: "/var/log/support-tunnel",
    });
    assert.equal(
      sut,
      [
        `${SUDOERS_HEADER} ephemeral support user of tunnel ${tunnelId}, removed when the tunnel stops`,
        "support7a3f0c12 ALL=(ALL) NOPASSWD: ALL",
        "root ALL=(support7a3f0c12) NOPASSWD: ALL",
        `Defaults>support7a3f0c12 log_input, log_output, iolog_flush, iolog_dir="/var/log/support-tunnel/sessions/${tunnelId}", iolog_file="%{seq}"`,
        "",
      ].join("\n"),
    );
  });

  it("forces every session of the key through the session program, as root through sudo, and allows no forwarding", () => {
    const command = forcedCommand({
      node: "/usr/bin/node",
      script: "/opt/support-tunnel/device/dist/session-program.js",
      tunnelId,
      logDir: "/var/log/support-tunnel",
    });
    const sut = authorizedKeysLine({ from: "10.99.0.2", sshPublicKey: key, command });
    assert.equal(
      sut,
      `from="10.99.0.2",no-agent-forwarding,no-X11-forwarding,no-port-forwarding,no-user-rc,` +
        `command="/usr/bin/sudo -n --preserve-env=SSH_ORIGINAL_COMMAND,SSH_CONNECTION -- /usr/bin/node /opt/support-tunnel/device/dist/session-program.js --tunnel ${tunnelId} --log-dir /var/log/support-tunnel" ${key}`,
    );
  });

  it("authorized_keys: forwards only to 127.0.0.1 on the ports the customer allowed, no remote listening", () => {
    const sut = authorizedKeysLine({
      from: "10.99.0.2",
      sshPublicKey: key,
      command: "/bin/true",
      allowedPorts: [443, 80],
    });
    assert.equal(
      sut,
      `from="10.99.0.2",no-agent-forwarding,no-X11-forwarding,permitopen="127.0.0.1:80",permitopen="127.0.0.1:443",permitlisten="127.0.0.1:1",no-user-rc,command="/bin/true" ${key}`,
    );
    // no-port-forwarding would beat every permitopen: it is there only when nothing is allowed.
    assert.doesNotMatch(sut, /no-port-forwarding/);
    assert.deepEqual(forwardingOptions([]), ["no-port-forwarding"]);
    for (const port of [22, 0, 70000])
      assert.throws(() => forwardingOptions([port]), /not an allowed port/);
  });

  for (const [what, paths] of [
    ["a space in the program's path", { script: "/opt/my app/session-program.js" }],
    ["a quote in the node path", { node: '/usr/bin/node"' }],
    ["a relative log dir", { logDir: "var/log" }],
    ["a log dir that climbs out", { logDir: "/var/log/../../etc" }],
    ["a sudoers escape in the log dir", { logDir: "/var/log/%{user}" }],
  ] as const) {
    it(`refuses ${what}: it would go into a shell line, authorized_keys or sudoers`, () => {
      const ok = {
        node: "/usr/bin/node",
        script: "/opt/s/session-program.js",
        tunnelId,
        logDir: "/var/log/support-tunnel",
      };
      assert.throws(() => forcedCommand({ ...ok, ...paths }), /must be an absolute path/);
    });
  }

  it("refuses a log dir that sudoers would read as more than a path", () => {
    assert.throws(
      () =>
        renderSudoers({
          supportUser: "support7a3f0c12",
          tunnelId,
          logDir: '/var/log/x", log_input',
        }),
      /must be an absolute path/,
    );
  });
});
