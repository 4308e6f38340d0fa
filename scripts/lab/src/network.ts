// Building a lab's network: the internet segment (a bridge the root namespace
// joins), hosts (a namespace plus a holder process with private mounts), NAT
// routers (nftables masquerade, no new inbound), and the root namespace facts
// a new segment must avoid.
import { spawn as spawnChild } from "node:child_process";
import { randomInt } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { HostRecord } from "./host";
import type { LabState } from "./state";
import { killPidsSync, processStartTime, run } from "./system";

const HOLDER_SCRIPT = [
  "set -e",
  // The netns bind mounts copied into this mount namespace would keep other
  // labs' namespaces alive after `ip netns del`: drop our copies.
  "umount -l /run/netns 2>/dev/null || true",
  'mount -t overlay stlab-etc -o "lowerdir=/etc,upperdir=$1/etc-upper,workdir=$1/etc-work" /etc',
  'mount --bind "$1/home" /home',
  'mount --bind "$1/root" /root',
  // /var/lib too is an overlay: whatever a host keeps there (a tunnel server's
  // /var/lib/support-tunnel-server, sudo's timestamps) goes with the host.
  'mount -t overlay stlab-varlib -o "lowerdir=/var/lib,upperdir=$1/varlib-upper,workdir=$1/varlib-work" /var/lib',
  "mkdir -p /var/lib/support-tunnel",
  'mount --bind "$1/state" /var/lib/support-tunnel',
  // An empty /var/log of its own: a device's session record (/var/log/support-tunnel),
  // and what sshd and useradd log (wtmp, lastlog), stay with the host.
  'mount --bind "$1/varlog" /var/log',
  // Own hostname (UTS namespace), resolvable so sudo does not complain.
  'hostname "$2"',
  "printf '127.0.1.1 %s\\n' \"$2\" >> /etc/hosts",
  // Hosts share the machine's pid namespace: if two hosts handed out the same
  // uid, `pkill -u` of one host's support user would kill another host's
  // sessions. Each host creates users in a uid/gid block of its own.
  'sed -i -e "s/^UID_MIN.*/UID_MIN $3/" -e "s/^UID_MAX.*/UID_MAX $(($3 + 99))/" -e "s/^GID_MIN.*/GID_MIN $3/" -e "s/^GID_MAX.*/GID_MAX $(($3 + 99))/" /etc/login.defs',
  "ip link set lo up",
  "echo ready",
  "exec sleep infinity",
].join("\n");

const NAT_RULESET = `
table ip stlab {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
  }
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname "lo" accept
    iifname "lan" accept
  }
}
`;

/**
 * The internet segment: a bridge in its own namespace, joined by a veth from the
 * root namespace carrying `rootAddress`. Changes no root route, rule or sysctl.
 */
export async function buildInternet(internet: LabState["internet"]): Promise<void> {
  const { netns, rootInterface, rootAddress, cidr } = internet;
  await run("ip", ["netns", "add", netns]);
  await run("ip", ["-n", netns, "link", "set", "lo", "up"]);
  await run("ip", ["-n", netns, "link", "add", "br0", "type", "bridge"]);
  await run("ip", ["-n", netns, "link", "set", "br0", "up"]);
  await run("ip", [
    "link",
    "add",
    "name",
    rootInterface,
    "type",
    "veth",
    "peer",
    "name",
    "root",
    "netns",
    netns,
  ]);
  await run("ip", ["-n", netns, "link", "set", "root", "master", "br0", "up"]);
  const prefix = cidr.split("/")[1]!;
  await run("ip", ["addr", "add", `${rootAddress}/${prefix}`, "dev", rootInterface]);
  await run("ip", ["link", "set", rootInterface, "up"]);
}

/**
 * A keeper process in the bridge namespace that stands in for the owner of a
 * lab made to outlive its creator (keepAfterExit); returns its pid.
 */
export async function startKeeper(netns: string): Promise<number> {
  const keeper = spawnChild("ip", ["netns", "exec", netns, "sleep", "infinity"], {
    detached: true,
    stdio: "ignore",
  });
  const pid = await new Promise<number>((resolve, reject) => {
    keeper.once("error", reject);
    keeper.once("spawn", () => resolve(keeper.pid!));
  });
  keeper.unref();
  return pid;
}

/**
 * Builds a host recorded in lab.json: its directories, its namespace with the
 * holder process (own /etc, /var/lib, /var/log, /home, /root, hostname, uid block), and
 * its link to the internet segment, directly or through its own NAT router.
 * `recordHolder` is called as soon as the holder runs, so a teardown finds it
 * even if a later step fails.
 */
export async function buildHost(
  lab: string,
  r: HostRecord,
  internet: LabState["internet"],
  recordHolder: (r: HostRecord) => Promise<void>,
): Promise<void> {
  const inet = internet.netns;
  const prefix = internet.cidr.split("/")[1]!;
  for (const sub of [
    "etc-upper",
    "etc-work",
    "varlib-upper",
    "varlib-work",
    "varlog",
    "home",
    "state",
  ]) {
    fs.mkdirSync(path.join(r.dir, sub), { recursive: true, mode: 0o755 });
  }
  fs.mkdirSync(path.join(r.dir, "root"), { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.join(r.dir, "state"), { recursive: true, mode: 0o700 });

  await run("ip", ["netns", "add", r.netns]);
  const holder = spawnChild(
    "ip",
    [
      "netns",
      "exec",
      r.netns,
      "unshare",
      "--mount",
      "--uts",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      HOLDER_SCRIPT,
      "sh",
      r.dir,
      r.name,
      String(hostUidBase()),
    ],
    { detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  const holderPid = await waitForReady(holder, `${lab}/${r.name}`);
  r.holderPid = holderPid;
  r.holderStartTime = processStartTime(holderPid);
  await recordHolder(r);

  const bridgePort = `h${r.index}`;
  if (!r.lan) {
    await addVethPair("eth0", r.netns, bridgePort, inet);
    // The two ends at once, the host's in one `ip` (each program costs on a busy machine).
    await Promise.all([
      run("ip", ["-n", inet, "link", "set", bridgePort, "master", "br0", "up"]),
      run("ip", ["-n", r.netns, "-batch", "-"], {
        input: `addr add ${r.address}/${prefix} dev eth0\nlink set eth0 up\n`,
      }),
    ]);
    return;
  }
  const router = r.lan.routerNetns;
  const lanPrefix = r.lan.cidr.split("/")[1]!;
  await run("ip", ["netns", "add", router]);
  await run("ip", ["-n", router, "link", "set", "lo", "up"]);
  await addVethPair("wan", router, bridgePort, inet);
  await run("ip", ["-n", inet, "link", "set", bridgePort, "master", "br0", "up"]);
  await run("ip", ["-n", router, "addr", "add", `${r.internetAddress}/${prefix}`, "dev", "wan"]);
  await run("ip", ["-n", router, "link", "set", "wan", "up"]);
  await addVethPair("lan", router, "eth0", r.netns);
  await run("ip", ["-n", router, "addr", "add", `${r.lan.router}/${lanPrefix}`, "dev", "lan"]);
  await run("ip", ["-n", router, "link", "set", "lan", "up"]);
  await run("ip", ["-n", r.netns, "addr", "add", `${r.address}/${lanPrefix}`, "dev", "eth0"]);
  await run("ip", ["-n", r.netns, "link", "set", "eth0", "up"]);
  await run("ip", ["-n", r.netns, "route", "add", "default", "via", r.lan.router]);
  await run("ip", ["netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  await run("ip", ["netns", "exec", router, "nft", "-f", "-"], { input: NAT_RULESET });
}

/**
 * A new host may get the address of one removed earlier, while the root
 * namespace and the other hosts (NAT routers) still map it to the old host's
 * MAC: SSH and WireGuard would be black-holed for seconds. Forget those entries.
 */
export async function forgetStaleNeighbours(
  address: string,
  hosts: readonly HostRecord[],
): Promise<void> {
  // The namespaces that share the internet segment: NAT routers and internet hosts.
  const namespaces = hosts.flatMap((h) => (h.lan ? [h.lan.routerNetns] : [h.netns]));
  // All at once: each is one program, and none depends on another.
  await Promise.all([
    run("ip", ["neigh", "flush", "to", address]).catch(() => undefined),
    ...namespaces.map((netns) =>
      run("ip", ["-n", netns, "neigh", "flush", "to", address]).catch(() => undefined),
    ),
  ]);
}

/** A veth pair with each end created directly in its namespace. */
async function addVethPair(name: string, netns: string, peer: string, peerNetns: string) {
  await run("ip", [
    "link",
    "add",
    "name",
    name,
    "netns",
    netns,
    "type",
    "veth",
    "peer",
    "name",
    peer,
    "netns",
    peerNetns,
  ]);
}

/** A random block of 100 uids above the machine's own users (100000 up). */
function hostUidBase(): number {
  return 100_000 + randomInt(0, 9000) * 100;
}

/** Routes and addresses of the root namespace: a new segment must avoid them all. */
export async function rootRoutes(): Promise<string[]> {
  const out = (await run("ip", ["-4", "-o", "route", "show", "table", "all"], { reject: false }))
    .stdout;
  const addrs = (await run("ip", ["-4", "-o", "addr", "show"], { reject: false })).stdout;
  const routes = out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .map((f) => (["local", "broadcast", "unicast", "multicast"].includes(f[0] ?? "") ? f[1] : f[0]))
    .filter((d): d is string => !!d && /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(d));
  const addresses = [...addrs.matchAll(/inet (\d+\.\d+\.\d+\.\d+\/\d+)/g)].map((m) => m[1]!);
  return [...routes, ...addresses];
}

export async function rootLinkNames(): Promise<string[]> {
  const out = (await run("ip", ["-o", "link", "show"], { reject: false })).stdout;
  return out
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n);
}

/** Reads the holder's "ready" line; rejects with its stderr if it exits first. */
function waitForReady(child: ReturnType<typeof spawnChild>, label: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(
      () => finish(new Error(`lab host ${label}: holder not ready after 15 s: ${err}`)),
      15_000,
    );
    const finish = (error: Error | null) => {
      clearTimeout(timer);
      child.stdout?.removeAllListeners("data");
      child.removeAllListeners("exit");
      if (error) {
        if (child.pid) killPidsSync([child.pid]);
        reject(error);
        return;
      }
      // The holder sleeps forever and never writes again: let it go.
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.unref();
      resolve(child.pid!);
    };
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready\n")) finish(null);
    });
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    child.once("error", (e) => finish(e));
    child.once("exit", (code) =>
      finish(new Error(`lab host ${label}: holder exited ${code}: ${err.trim()}`)),
    );
  });
}
