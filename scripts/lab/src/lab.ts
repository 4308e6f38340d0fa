/*
 * The lab: real components on one Linux machine, as root (network namespaces,
 * veth pairs, a bridge, nftables NAT, wireguard-go, sshd), so the device, the
 * `support` CLI's netns provider, the end-to-end tests and the demo run the
 * real thing without touching the machine's own users, /etc or /home.
 *
 * API (all exported from `@support-tunnel/lab`)
 * ------------------------------------------------
 *   const lab = await createLab({ name?: "demo", keepAfterExit?: false });
 *     Cleans leftovers of dead labs first, then builds an "internet" segment: a
 *     bridge in namespace `stlab-<lab>-inet`, a /24 in 100.64.0.0/10 (RFC 6598;
 *     198.18.0.0/15 if that is all routed already; never RFC 1918, so devices
 *     can always find a tunnel subnet) avoiding every root route, and a veth
 *     `stlab<4 hex>` from the machine's root namespace with `lab.rootAddress`
 *     (.1) on it. The api and the `support` CLI run in the root namespace and
 *     reach lab hosts (and are reached by them) directly on that segment. No
 *     root-namespace route, firewall rule or sysctl is changed.
 *     The creating process owns the lab: SIGINT/SIGTERM destroy it then exit
 *     130/143; an `exit` handler tears it down synchronously. With
 *     `keepAfterExit: true` the lab outlives its creator (owned by a detached
 *     holder process) until `(await openLab(name)).destroy()`.
 *   const lab = await openLab("demo");  // another process attaches by name
 *   lab.name, lab.dir (/run/support-tunnel-lab/<name>), lab.internetCidr,
 *   lab.rootAddress, lab.rootInterface
 *
 *   const server = await lab.addHost("server");                   // on the internet segment
 *   const device = await lab.addHost("device", { behindNat: true }); // behind its own NAT router
 *     Host names: /^[a-z][a-z0-9]{0,15}$/, not "inet". Safe from several
 *     processes at once (lab.json is updated under a lock).
 *     Internet hosts: `host.address` on the segment, no default route.
 *     NAT'ed hosts: `host.address` = 172.31.<n>.2 on a LAN whose router
 *     (namespace `stlab-<lab>-<host>-nat`, ip_forward on) masquerades to the
 *     segment as `host.internetAddress` and drops every inbound new connection
 *     (nftables: only ct established,related comes back in). Default route via
 *     the router. UDP out (WireGuard) and its replies pass.
 *   lab.host("server") / lab.hosts()   // LabHost objects from lab.json
 *   await lab.removeHost("server");    // kills its processes, deletes its namespaces and dir
 *   await lab.destroy();               // everything; safe to call twice
 *   await cleanupLeftoverLabs();       // labs whose owner died; returns their names
 *
 *   A LabHost = a network namespace + a holder process (`sleep infinity`) in a
 *   private mount namespace (and UTS namespace: `hostname` is the host's name)
 *   where /etc and /var/lib are overlays over the real ones (upper
 *   dirs in the host's dir), /home, /root and /var/lib/support-tunnel are binds
 *   of the host's own empty dirs. useradd, sudoers.d, authorized_keys, the
 *   device's state: all stay in the lab. /run (and so /var/run/wireguard) is
 *   the machine's: WireGuard interface names must be unique across hosts.
 *     host.exec(file, args, { input?, timeoutMs?, env?, cwd?, reject? })
 *       -> { stdout, stderr, exitCode }; throws on non-zero only with reject.
 *       Runs via `nsenter --target=<holder> --mount --net --`, cwd `/` unless
 *       `cwd`, environment = PATH (with sbin), HOME=/root, LANG + `env`.
 *     host.spawn(file, args, execaOptions) -> execa child (killed on destroy)
 *     host.spawnDetached(file, args, logFile, env?) -> pid (survives the caller)
 *     host.nsenterArgs() -> ["nsenter", "--target=<pid>", "--mount", "--uts", "--net", "--"]
 *       e.g. ssh -o ProxyCommand="nsenter ... -- socat - TCP:%h:%p" (socat is
 *       installed, nc and ping are not), or run `node` in a host.
 *     host.probeTcp(address, port, connectMs = 3000, readMs = 5000) ->
 *       { connected, banner }: a TCP connect from the host (node), then what
 *       the server says first (one read; "" if it stays silent for readMs).
 *     host.writeFile(path, content, mode?), host.readFile(path)
 *     host.startSshd({ authorizedKeysForRoot?, port?, usePam?, extraConfig? })
 *       -> { port, hostPublicKey: "ssh-ed25519 AAAA...", pid }. Detached, logs
 *       in host.dir; PermitRootLogin prohibit-password, no passwords, UsePAM yes,
 *       AllowTcpForwarding yes, AuthorizedKeysFile .ssh/authorized_keys, then
 *       `Include /etc/ssh/sshd_config.d/*.conf` (the host's own).
 *
 * By hand: `node scripts/lab/dist/lab-cli.js create NAME | add-host NAME HOST
 * [--nat] | list | destroy NAME | cleanup` (create makes a keepAfterExit lab,
 * e.g. for `support create --provider netns --lab NAME`).
 *
 * Test helpers (api-process.ts):
 *   const api = await startApiProcess({ databaseUrl?, dataDir?, env?, host?, inHost?, timeoutMs? })
 *     runs `node api/dist/bin.js serve --port 0 --host <host>` (default
 *     127.0.0.1; pass lab.rootAddress so lab hosts reach it; `inHost` runs it
 *     inside a lab host on 0.0.0.0) with DATABASE_URL = databaseUrl or "" (a
 *     temp PGlite --data-dir otherwise), waits for its "listening" line ->
 *     { url, port, process, dataDir, output(), stop() }.
 *   const db = await createTestDatabase()  // st_<hex> on TEST_DATABASE_URL -> { url, name, drop() }
 *   await queryDatabase(url, sql, params?) -> rows
 *   await waitFor(() => condition, "what", timeoutMs?)  // poll instead of sleeping
 *
 * WireGuard: `wg-quick up /abs/path/<iface>.conf` inside a host works with
 * wireguard-go (wg-quick falls back to it by itself; no env var needed with
 * wireguard-go 0.0.20220316, it only prints a warning). Its socket lands in
 * the machine's /var/run/wireguard/<iface>.sock; teardown removes stale ones.
 *
 * Teardown (destroy, removeHost, cleanupLeftoverLabs, signal and exit
 * handlers) is synchronous and tolerant: kill every pid in each namespace
 * (`ip netns pids`, SIGTERM then SIGKILL), remove stale WireGuard sockets,
 * `ip link del` the root veth, `ip netns del`, rm -rf the lab dir.
 */
import { spawn as spawnChild } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  assertHostName,
  assertLabName,
  chooseInternetSegment,
  labOfNamespace,
  lanPlan,
  namespaceNames,
  nextSegmentAddress,
  rootInterfaceName,
  segmentAddress,
} from "./addresses";
import { LabHost, type HostRecord } from "./host";
import {
  isProcessAlive,
  killPidsSync,
  processStartTime,
  run,
  runSync,
  withLock,
  writeFileAtomic,
} from "./system";

/** Where every lab keeps its state: one directory per lab. */
export const LAB_ROOT = "/run/support-tunnel-lab";

export interface LabState {
  version: 1;
  name: string;
  /** 4 hex chars naming the root veth. */
  id: string;
  ownerPid: number;
  ownerStartTime: number | null;
  createdAt: string;
  internet: {
    cidr: string;
    rootAddress: string;
    rootInterface: string;
    netns: string;
  };
  nextIndex: number;
  hosts: Record<string, HostRecord>;
}

export interface CreateLabOptions {
  /** /^[a-z][a-z0-9]{0,11}$/; default random `l` + 6 hex. Fails if a live lab has it. */
  name?: string;
  /** The lab outlives the creating process (no signal/exit handlers). */
  keepAfterExit?: boolean;
}

export interface AddHostOptions {
  behindNat?: boolean;
}

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

export class Lab {
  private readonly hostObjects = new Map<string, LabHost>();
  private destroyed = false;

  private constructor(
    private state: LabState,
    readonly owned: boolean,
  ) {}

  get name(): string {
    return this.state.name;
  }
  get dir(): string {
    return labDir(this.state.name);
  }
  get internetCidr(): string {
    return this.state.internet.cidr;
  }
  get rootAddress(): string {
    return this.state.internet.rootAddress;
  }
  get rootInterface(): string {
    return this.state.internet.rootInterface;
  }

  /** @internal */
  static async create(options: CreateLabOptions): Promise<Lab> {
    await cleanupLeftoverLabs();
    const name = options.name ?? `l${randomBytes(3).toString("hex")}`;
    assertLabName(name);
    fs.mkdirSync(LAB_ROOT, { recursive: true, mode: 0o700 });
    const state = await withLock(path.join(LAB_ROOT, ".lock"), async () => {
      if (fs.existsSync(labDir(name)))
        throw new Error(`lab ${name} already exists (${labDir(name)})`);
      const others = listLabStates();
      const routes = await rootRoutes();
      const cidr = chooseInternetSegment([...routes, ...others.map((s) => s.internet.cidr)]);
      const links = await rootLinkNames();
      let id: string;
      do id = randomBytes(2).toString("hex");
      while (links.includes(rootInterfaceName(id)) || others.some((s) => s.id === id));
      const state: LabState = {
        version: 1,
        name,
        id,
        ownerPid: process.pid,
        ownerStartTime: processStartTime(process.pid),
        createdAt: new Date().toISOString(),
        internet: {
          cidr,
          rootAddress: segmentAddress(cidr, 1),
          rootInterface: rootInterfaceName(id),
          netns: namespaceNames.internet(name),
        },
        nextIndex: 1,
        hosts: {},
      };
      fs.mkdirSync(path.join(labDir(name), "hosts"), { recursive: true, mode: 0o700 });
      writeState(state);
      return state;
    });
    const lab = new Lab(state, !options.keepAfterExit);
    if (lab.owned) registerOwnedLab(lab);
    try {
      await lab.buildInternet(options.keepAfterExit === true);
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  /** @internal */
  static open(name: string): Lab {
    assertLabName(name);
    const state = readState(name);
    if (!state) throw new Error(`no lab named ${name} (${labDir(name)})`);
    if (!isProcessAlive(state.ownerPid, state.ownerStartTime)) {
      throw new Error(`lab ${name} is left over from a dead process ${state.ownerPid}`);
    }
    return new Lab(state, false);
  }

  private async buildInternet(keep: boolean): Promise<void> {
    const { netns, rootInterface, rootAddress, cidr } = this.state.internet;
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
    if (keep) {
      // A keeper process in the bridge namespace stands in for the owner.
      const keeper = spawnChild("ip", ["netns", "exec", netns, "sleep", "infinity"], {
        detached: true,
        stdio: "ignore",
      });
      const pid = await new Promise<number>((resolve, reject) => {
        keeper.once("error", reject);
        keeper.once("spawn", () => resolve(keeper.pid!));
      });
      keeper.unref();
      await this.update((s) => {
        s.ownerPid = pid;
        s.ownerStartTime = processStartTime(pid);
      });
    }
  }

  /** The hosts recorded in lab.json (also those added by other processes). */
  hosts(): LabHost[] {
    this.refresh();
    return Object.values(this.state.hosts)
      .filter(isReady)
      .map((h) => this.hostObject(h));
  }

  host(name: string): LabHost {
    this.refresh();
    const record = this.state.hosts[name];
    if (!record || !isReady(record)) throw new Error(`no host ${name} in lab ${this.name}`);
    return this.hostObject(record);
  }

  async addHost(name: string, options: AddHostOptions = {}): Promise<LabHost> {
    assertHostName(name);
    if (this.destroyed) throw new Error(`lab ${this.name} is destroyed`);
    const behindNat = options.behindNat === true;
    const dir = path.join(this.dir, "hosts", name);
    // Reserve the name, index and address first, so a concurrent addHost and a
    // teardown both see the namespaces this call is about to create.
    const record = await this.update((s) => {
      const existing = s.hosts[name];
      if (existing && isAbandoned(existing)) {
        // Left half-built by a process that died (a Ctrl-C'd `support create`):
        // clear it so the name can be used again.
        teardownHostSync(existing);
        delete s.hosts[name];
      } else if (existing) {
        throw new Error(`lab ${this.name} already has a host ${name}`);
      }
      const index = s.nextIndex++;
      const used = Object.values(s.hosts).map((h) => h.internetAddress);
      const internetAddress = nextSegmentAddress(s.internet.cidr, used);
      const lan = behindNat ? lanPlan(index) : undefined;
      const r: HostRecord = {
        name,
        netns: namespaceNames.host(this.name, name),
        index,
        behindNat,
        address: lan ? lan.host : internetAddress,
        internetAddress,
        lan: lan
          ? {
              cidr: lan.cidr,
              router: lan.router,
              routerNetns: namespaceNames.router(this.name, name),
            }
          : undefined,
        holderPid: 0,
        holderStartTime: null,
        dir,
        ready: false,
        creatorPid: process.pid,
        creatorStartTime: processStartTime(process.pid),
      };
      s.hosts[name] = r;
      return r;
    });
    try {
      await this.buildHost(record);
      await this.forgetStaleNeighbours(record.internetAddress);
      record.ready = true;
      await this.update((s) => {
        if (s.hosts[name]) s.hosts[name].ready = true;
      });
    } catch (error) {
      teardownHostSync(record);
      await this.update((s) => {
        delete s.hosts[name];
      }).catch(() => undefined);
      throw error;
    }
    return this.hostObject(record);
  }

  async removeHost(name: string): Promise<void> {
    this.refresh();
    const record = this.state.hosts[name];
    if (!record) return;
    await this.hostObjects.get(name)?.killChildren();
    teardownHostSync(record);
    this.hostObjects.delete(name);
    await this.update((s) => {
      delete s.hosts[name];
    });
  }

  /** Removes everything the lab created. Idempotent; never throws for a half-built lab. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.allSettled([...this.hostObjects.values()].map((h) => h.killChildren()));
    this.refresh();
    teardownLabSync(this.state);
    unregisterOwnedLab(this);
  }

  /** @internal synchronous teardown for signal and exit handlers. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.refresh();
    teardownLabSync(this.state);
  }

  /**
   * A new host may get the address of one removed earlier, while the root
   * namespace and the other hosts (NAT routers) still map it to the old host's
   * MAC: SSH and WireGuard would be black-holed for seconds. Forget those entries.
   */
  private async forgetStaleNeighbours(address: string): Promise<void> {
    const namespaces = Object.values(this.state.hosts).flatMap((h) =>
      h.lan ? [h.lan.routerNetns] : [h.netns],
    );
    await run("ip", ["neigh", "flush", "to", address]).catch(() => undefined);
    for (const netns of namespaces) {
      await run("ip", ["-n", netns, "neigh", "flush", "to", address]).catch(() => undefined);
    }
  }

  private async buildHost(r: HostRecord): Promise<void> {
    const inet = this.state.internet.netns;
    const prefix = this.state.internet.cidr.split("/")[1]!;
    for (const sub of ["etc-upper", "etc-work", "varlib-upper", "varlib-work", "home", "state"]) {
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
    const holderPid = await waitForReady(holder, `${this.name}/${r.name}`);
    r.holderPid = holderPid;
    r.holderStartTime = processStartTime(holderPid);
    await this.update((s) => {
      if (s.hosts[r.name]) {
        s.hosts[r.name]!.holderPid = holderPid;
        s.hosts[r.name]!.holderStartTime = r.holderStartTime;
      }
    });

    const bridgePort = `h${r.index}`;
    if (!r.lan) {
      await addVethPair("eth0", r.netns, bridgePort, inet);
      await run("ip", ["-n", inet, "link", "set", bridgePort, "master", "br0", "up"]);
      await run("ip", ["-n", r.netns, "addr", "add", `${r.address}/${prefix}`, "dev", "eth0"]);
      await run("ip", ["-n", r.netns, "link", "set", "eth0", "up"]);
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

  private hostObject(record: HostRecord): LabHost {
    const existing = this.hostObjects.get(record.name);
    if (existing && existing.record.holderPid === record.holderPid) return existing;
    const host = new LabHost(this.name, record);
    this.hostObjects.set(record.name, host);
    return host;
  }

  private refresh(): void {
    const fresh = readState(this.name);
    if (fresh) this.state = fresh;
  }

  private async update<T>(change: (s: LabState) => T): Promise<T> {
    return withLock(path.join(this.dir, ".lock"), async () => {
      const current = readState(this.name);
      if (!current) throw new Error(`lab ${this.name} is gone`);
      const result = change(current);
      writeState(current);
      this.state = current;
      return result;
    });
  }
}

export function createLab(options: CreateLabOptions = {}): Promise<Lab> {
  return Lab.create(options);
}

/** Attaches to a live lab created by another process (or this one). */
export async function openLab(name: string): Promise<Lab> {
  return Lab.open(name);
}

/** Every lab on the machine that has a lab.json (live or not). */
export function listLabStates(): LabState[] {
  let names: string[];
  try {
    names = fs.readdirSync(LAB_ROOT).filter((n) => !n.startsWith("."));
  } catch {
    return [];
  }
  return names.map((n) => readState(n)).filter((s): s is LabState => s !== null);
}

/**
 * Removes labs whose owner process is dead (a crashed run, a killed test) and
 * stray `stlab-*` namespaces / `stlab*` root veths that belong to no live lab.
 * Returns the names of the labs it removed.
 */
export async function cleanupLeftoverLabs(): Promise<string[]> {
  const removed: string[] = [];
  if (fs.existsSync(LAB_ROOT)) {
    await withLock(path.join(LAB_ROOT, ".lock"), async () => {
      for (const name of fs.readdirSync(LAB_ROOT).filter((n) => !n.startsWith("."))) {
        const state = readState(name);
        if (state && isProcessAlive(state.ownerPid, state.ownerStartTime)) continue;
        if (!state) {
          // A dir without lab.json: being created right now (under this lock,
          // so not) or half-removed. Give a fresh one a grace period anyway.
          const age = Date.now() - statMtime(labDir(name));
          if (age < 10_000) continue;
        }
        if (state) teardownLabSync(state);
        else teardownNamespacesSync(name, null);
        fs.rmSync(labDir(name), { recursive: true, force: true });
        removed.push(name);
      }
    });
  }
  // Namespaces and root veths whose lab directory is gone entirely. List them
  // before the labs: a lab writes lab.json before it makes namespaces, so one
  // being created right now is always among the live labs read afterwards.
  const namespaces = listNamespacesSync();
  const links = await rootLinkNames();
  const states = listLabStates();
  const live = new Set(states.map((s) => s.name));
  const liveIds = new Set(states.map((s) => rootInterfaceName(s.id)));
  for (const netns of namespaces) {
    const lab = labOfNamespace(netns);
    if (lab && !live.has(lab)) {
      teardownNamespacesSync(lab, null);
      if (!removed.includes(lab)) removed.push(lab);
    }
  }
  for (const link of links) {
    if (/^stlab[0-9a-f]{4}$/.test(link) && !liveIds.has(link)) runSync("ip", ["link", "del", link]);
  }
  return removed;
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

/** Built completely (records written before `ready` existed count as built). */
function isReady(r: HostRecord): boolean {
  return r.ready !== false && r.holderPid > 0;
}

function isAbandoned(r: HostRecord): boolean {
  return r.ready === false && !!r.creatorPid && !isProcessAlive(r.creatorPid, r.creatorStartTime);
}

// ---- state file ---------------------------------------------------------

function labDir(name: string): string {
  return path.join(LAB_ROOT, name);
}

function readState(name: string): LabState | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(labDir(name), "lab.json"), "utf8")) as LabState;
  } catch {
    return null;
  }
}

function writeState(state: LabState): void {
  writeFileAtomic(
    path.join(labDir(state.name), "lab.json"),
    JSON.stringify(state, null, 2) + "\n",
    0o600,
  );
}

function statMtime(p: string): number {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

// ---- teardown (synchronous, tolerant) -------------------------------------

function listNamespacesSync(): string[] {
  return runSync("ip", ["netns", "list"])
    .stdout.split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n.startsWith("stlab-"));
}

function namespacePidsSync(netns: string): number[] {
  return runSync("ip", ["netns", "pids", netns])
    .stdout.split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((p) => Number.isInteger(p) && p > 0 && p !== process.pid);
}

/** Interfaces other than lo/eth0/wan/lan in a namespace: WireGuard (wireguard-go tun) ones. */
function tunnelInterfacesSync(netns: string): string[] {
  const out = runSync("ip", ["-n", netns, "-o", "link", "show"]).stdout;
  return out
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n && !["lo", "eth0", "wan", "lan", "br0", "root"].includes(n));
}

/** Kills every process in the namespaces, removes stale wg sockets, deletes the namespaces. */
function killAndDeleteNamespacesSync(namespaces: readonly string[]): void {
  const existing = new Set(listNamespacesSync());
  const present = namespaces.filter((n) => existing.has(n));
  const wgInterfaces = present.flatMap(tunnelInterfacesSync);
  killPidsSync(present.flatMap(namespacePidsSync));
  for (const iface of wgInterfaces) {
    if (/^[A-Za-z0-9_=+.-]{1,15}$/.test(iface)) {
      fs.rmSync(`/var/run/wireguard/${iface}.sock`, { force: true });
    }
  }
  for (const netns of present) runSync("ip", ["netns", "del", netns]);
}

function teardownHostSync(r: HostRecord): void {
  const namespaces = [r.netns, ...(r.lan ? [r.lan.routerNetns] : [])];
  killPidsSync([r.holderPid].filter((p) => isProcessAlive(p, r.holderStartTime)));
  killAndDeleteNamespacesSync(namespaces);
  fs.rmSync(r.dir, { recursive: true, force: true });
}

/** Namespaces of a lab by name prefix (also those of half-built hosts). */
function teardownNamespacesSync(lab: string, rootInterface: string | null): void {
  const prefix = namespaceNames.prefix(lab);
  const namespaces = listNamespacesSync().filter(
    (n) => n.startsWith(prefix) && labOfNamespace(n) === lab,
  );
  // Hosts before the bridge, so bridge ports go with their hosts.
  namespaces.sort((a, b) => Number(a.endsWith("-inet")) - Number(b.endsWith("-inet")));
  killAndDeleteNamespacesSync(namespaces);
  if (rootInterface) runSync("ip", ["link", "del", rootInterface]);
}

function teardownLabSync(state: LabState): void {
  for (const r of Object.values(state.hosts)) {
    killPidsSync([r.holderPid].filter((p) => isProcessAlive(p, r.holderStartTime)));
  }
  if (state.ownerPid !== process.pid && isProcessAlive(state.ownerPid, state.ownerStartTime)) {
    // keepAfterExit: the owner is the keeper process in the bridge namespace.
    const inBridge = namespacePidsSync(state.internet.netns);
    if (inBridge.includes(state.ownerPid)) killPidsSync([state.ownerPid]);
  }
  teardownNamespacesSync(state.name, state.internet.rootInterface);
  fs.rmSync(labDir(state.name), { recursive: true, force: true });
}

// ---- owner signal and exit handlers -----------------------------------------

const ownedLabs = new Set<Lab>();

function destroyOwnedSync(): void {
  for (const lab of [...ownedLabs]) {
    try {
      lab.destroySync();
    } catch {
      // best effort: keep going with the other labs
    }
  }
  ownedLabs.clear();
}

const onSigint = () => {
  destroyOwnedSync();
  process.exit(130);
};
const onSigterm = () => {
  destroyOwnedSync();
  process.exit(143);
};

function registerOwnedLab(lab: Lab): void {
  if (ownedLabs.size === 0) {
    // `on`, not `once`: a second Ctrl-C while tearing down must not kill the
    // process half way (the default action once a `once` listener is gone).
    process.on("SIGINT", onSigint);
    process.on("SIGTERM", onSigterm);
    process.once("exit", destroyOwnedSync);
  }
  ownedLabs.add(lab);
}

function unregisterOwnedLab(lab: Lab): void {
  if (!ownedLabs.delete(lab) || ownedLabs.size > 0) return;
  process.removeListener("SIGINT", onSigint);
  process.removeListener("SIGTERM", onSigterm);
  process.removeListener("exit", destroyOwnedSync);
}

// ---- root namespace facts -----------------------------------------------------

async function rootRoutes(): Promise<string[]> {
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

async function rootLinkNames(): Promise<string[]> {
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
