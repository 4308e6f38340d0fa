import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { throughServerArgs } from "./system-ssh";

const access = {
  host: "100.64.0.9",
  port: 22,
  username: "root",
  privateKeyPath: "/cfg/id_ed25519",
};
const hop = {
  tunnelId: "0b7e3f52-9a61-4c1e-8d2f-3a4b5c6d7e8f",
  interfaceName: "sts0b7e3f529a61",
  supportUser: "support1a2b",
  deviceAddress: "10.20.30.1",
};

/** Plays both remote shells: each parses the command string it is handed into an argv. */
function argvOnDevice(args: string[]): { serverSsh: string[]; device: string[] } {
  const remote = args[args.length - 1]!;
  const serverArgv = execFileSync(
    "bash",
    ["-c", `for a in ${remote}; do printf '%s\\0' "$a"; done`],
    {
      encoding: "utf8",
    },
  )
    .split("\0")
    .slice(0, -1);
  const deviceString = serverArgv[serverArgv.length - 1]!;
  const device = execFileSync(
    "bash",
    ["-c", `for a in ${deviceString}; do printf '%s\\0' "$a"; done`],
    {
      encoding: "utf8",
    },
  )
    .split("\0")
    .slice(0, -1);
  return { serverSsh: serverArgv, device };
}

describe("throughServerArgs", () => {
  it("delivers a hostile command to the device exactly as typed", () => {
    const cmd = ["sh", "-c", "echo $(id) ; `x` 'q' \"d\"\nnext", "--", "a b", "*", ""];
    const args = throughServerArgs(
      access,
      "/cfg/servers/x.known_hosts",
      hop,
      ["sudo", "-n", "--", ...cmd],
      false,
    );
    const { serverSsh, device } = argvOnDevice(args);
    assert.deepEqual(device, ["sudo", "-n", "--", ...cmd]);
    assert.equal(serverSsh[0], "ssh");
    assert.ok(serverSsh.includes("support1a2b@10.20.30.1"));
    assert.ok(serverSsh.includes(`/var/lib/support-tunnel-server/${hop.tunnelId}/egress`));
  });

  it("pins the server's host key and never forwards the agent", () => {
    const args = throughServerArgs(access, "/cfg/servers/x.known_hosts", hop, ["true"], false);
    assert.ok(args.includes("UserKnownHostsFile=/cfg/servers/x.known_hosts"));
    assert.ok(args.includes("StrictHostKeyChecking=yes"));
    assert.ok(args.includes("ForwardAgent=no"));
    assert.ok(args.includes("-T"));
  });

  it("asks for a terminal on both hops for an interactive shell", () => {
    const args = throughServerArgs(access, "/k", hop, ["sudo", "-i"], true);
    assert.ok(args.includes("-t"));
    assert.match(args[args.length - 1]!, / -tt /);
  });
});
