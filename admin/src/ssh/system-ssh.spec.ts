import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deviceHopArgv, HOP_GATE_LINE, throughServerArgs } from "./system-ssh";

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
  network: "10.20.30.0/30",
  deviceAddress: "10.20.30.1",
  hostKeyAlias: "device.0b7e3f52-9a61-4c1e-8d2f-3a4b5c6d7e8f.support-tunnel",
};

/** The value of each `-o Name=value` in an argv. */
function sshOptions(argv: readonly string[]): Map<string, string> {
  const options = new Map<string, string>();
  argv.forEach((a, i) => {
    if (argv[i - 1] === "-o") {
      const [name, ...value] = a.split("=");
      options.set(name!, value.join("="));
    }
  });
  return options;
}

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

describe("throughServerArgs, gated", () => {
  /** Runs the server's command string in bash, with a stand-in `ssh` that shows what it got. */
  function onServer(args: string[], stdin: string): string {
    const bin = mkdtempSync(join(tmpdir(), "gate-"));
    try {
      const fake = join(bin, "ssh");
      writeFileSync(fake, '#!/bin/sh\nprintf "hop:"; printf "%s|" "$@"; printf "stdin:"; cat\n', {
        mode: 0o755,
      });
      return execFileSync("bash", ["-c", args[args.length - 1]!], {
        encoding: "utf8",
        input: stdin,
        env: { PATH: `${bin}:/usr/bin:/bin` },
      });
    } catch (err) {
      return `failed: ${(err as { status?: number }).status}`;
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }
  const gated = (inner: string[]) =>
    throughServerArgs(access, "/k", hop, inner, false, { gated: true });

  it("hops only after the gate line, and passes on the stdin that follows it", () => {
    const out = onServer(
      gated(["sudo", "-n", "--", "cat"]),
      `${HOP_GATE_LINE}\nline one\nline two\n`,
    );
    assert.match(out, /^hop:-F\|none\|/);
    assert.ok(out.includes("|support1a2b@10.20.30.1|--|sudo -n -- cat|"));
    assert.ok(out.endsWith("stdin:line one\nline two\n"), out);
  });

  it("runs nothing when stdin ends without the gate line, or with another line", () => {
    assert.equal(onServer(gated(["true"]), ""), "failed: 1");
    assert.equal(onServer(gated(["true"]), "no\n"), "failed: 1");
    assert.equal(onServer(gated(["true"]), `${HOP_GATE_LINE}x\n`), "failed: 1");
  });

  it("is refused with a terminal, whose stdin cannot carry the gate", () => {
    assert.throws(() =>
      throughServerArgs(access, "/k", hop, ["sudo", "-i"], true, { gated: true }),
    );
  });
});

describe("deviceHopArgv", () => {
  it("leaves the server only through the tunnel interface, to the recorded address and user", () => {
    const argv = deviceHopArgv(hop, ["true"], false);
    const options = sshOptions(argv);
    assert.equal(options.get("BindInterface"), "sts0b7e3f529a61");
    assert.ok(argv.includes("support1a2b@10.20.30.1"));
    assert.deepEqual(argv.slice(1, 3), ["-F", "none"], "no ssh_config of the server's applies");
  });

  it("checks the device's host key strictly, under the tunnel's alias, in the tunnel's known_hosts only", () => {
    const options = sshOptions(deviceHopArgv(hop, ["true"], false));
    assert.equal(options.get("StrictHostKeyChecking"), "yes");
    assert.equal(options.get("HostKeyAlias"), hop.hostKeyAlias);
    assert.equal(
      options.get("UserKnownHostsFile"),
      `/var/lib/support-tunnel-server/${hop.tunnelId}/known_hosts`,
    );
    assert.equal(options.get("GlobalKnownHostsFile"), "/dev/null");
    assert.equal(options.get("CheckHostIP"), "no");
    assert.equal(options.get("UpdateHostKeys"), "no");
  });

  it("shares one connection to the device per tunnel, its socket in the tunnel's own directory", () => {
    const options = sshOptions(deviceHopArgv(hop, ["true"], false));
    assert.equal(options.get("ControlMaster"), "auto");
    assert.equal(
      options.get("ControlPath"),
      `/var/lib/support-tunnel-server/${hop.tunnelId}/device.ctl`,
    );
    assert.equal(options.get("ControlPersist"), "yes");
    // OpenSSH binds a name 17 bytes longer than the path first: a Unix socket takes 108.
    assert.ok(Buffer.byteLength(options.get("ControlPath")!) + 17 < 108);
  });

  it("offers the device no sntrup761 key exchange, and still curve25519 (as the system's ssh resolves it)", () => {
    const argv = deviceHopArgv(hop, ["true"], false, { firstContact: true });
    // -G prints the configuration ssh would use, without connecting.
    const resolved = execFileSync("ssh", ["-G", ...argv.slice(1)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"], // its warning that the egress key is not here
    });
    const kex = /^kexalgorithms (.*)$/m.exec(resolved)?.[1]?.split(",") ?? [];
    assert.ok(kex.includes("curve25519-sha256"), resolved);
    assert.deepEqual(
      kex.filter((name) => name.startsWith("sntrup761")),
      [],
    );
  });

  it("opens the connection on first contact without running anything on the device", () => {
    const argv = deviceHopArgv(hop, ["true"], false, { firstContact: true });
    assert.deepEqual(argv.slice(-3), ["-N", "-f", "support1a2b@10.20.30.1"]);
    assert.ok(!argv.includes("--"), "no command, so no session on the device");
  });

  it("accepts a new host key only on first contact", () => {
    const first = sshOptions(deviceHopArgv(hop, ["true"], false, { firstContact: true }));
    assert.equal(first.get("StrictHostKeyChecking"), "accept-new");
    const later = sshOptions(throughServerArgs(access, "/k", hop, ["true"], false));
    assert.equal(later.get("StrictHostKeyChecking"), "yes", "the server hop is pinned too");
  });

  it("refuses an address outside the recorded network, a foreign user, interface or alias", () => {
    assert.throws(
      () => deviceHopArgv({ ...hop, deviceAddress: "192.168.1.10" }, ["true"], false),
      /192\.168\.1\.10 is not the device's address in 10\.20\.30\.0\/30/,
    );
    assert.throws(
      () => deviceHopArgv({ ...hop, deviceAddress: "10.20.30.2" }, ["true"], false),
      /not the device's address/,
    );
    assert.throws(
      () => deviceHopArgv({ ...hop, supportUser: "root" }, ["true"], false),
      /not a support user/,
    );
    assert.throws(
      () => deviceHopArgv({ ...hop, interfaceName: "eth0" }, ["true"], false),
      /not a tunnel interface/,
    );
    assert.throws(
      () => deviceHopArgv({ ...hop, hostKeyAlias: "10.20.30.1" }, ["true"], false),
      /not a host key alias/,
    );
  });
});
