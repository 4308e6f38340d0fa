// Removing labs and hosts: synchronous (it must also work from an `exit` handler)
// and tolerant (whatever is already gone is skipped). Kills every process in each
// namespace (SIGTERM, then SIGKILL), removes stale WireGuard sockets, deletes the
// namespaces, the root veth and the directories. Also finds what dead runs left.
import * as fs from "node:fs";
import { labOfNamespace, namespaceNames, rootInterfaceName } from "./addresses";
import type { HostRecord } from "./host";
import { rootLinkNames } from "./network";
import {
  LABS_LOCK,
  LAB_ROOT,
  labDir,
  labNames,
  listLabStates,
  readState,
  statMtime,
  type LabState,
} from "./state";
import { isProcessAlive, killPidsSync, runSync, withLock } from "./system";

/**
 * Removes labs whose owner process is dead (a crashed run, a killed test) and
 * stray `stlab-*` namespaces / `stlab*` root veths that belong to no live lab.
 * Returns the names of the labs it removed.
 */
export async function cleanupLeftoverLabs(): Promise<string[]> {
  const removed: string[] = [];
  if (fs.existsSync(LAB_ROOT)) {
    await withLock(LABS_LOCK, async () => {
      for (const name of labNames()) {
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

/** One host: its holder, its namespaces (and its NAT router's), its directory. */
export function teardownHostSync(r: HostRecord): void {
  const namespaces = [r.netns, ...(r.lan ? [r.lan.routerNetns] : [])];
  killPidsSync([r.holderPid].filter((p) => isProcessAlive(p, r.holderStartTime)));
  killAndDeleteNamespacesSync(namespaces);
  fs.rmSync(r.dir, { recursive: true, force: true });
}

/** A whole lab: every host, the keeper of a keepAfterExit lab, the bridge, the root veth. */
export function teardownLabSync(state: LabState): void {
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

/**
 * Cuts a namespace off the lab's segments: deleting a veth end deletes its peer
 * at once. `ip netns del` alone frees nothing while a process still holds the
 * namespace, and one can be born after its pids were listed (a child sshd forked
 * for a late connection lives out its 120 s login grace): its eth0 would go on
 * answering ARP for an address the lab hands to the next host, and the NAT
 * routers would send that host's traffic to the old one.
 */
function detachNamespaceSync(netns: string): void {
  const veths = runSync("ip", ["-n", netns, "-o", "link", "show", "type", "veth"])
    .stdout.split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n);
  for (const name of veths) runSync("ip", ["-n", netns, "link", "del", name]);
}

/** Cuts the namespaces off, kills every process in them, removes stale wg sockets, deletes them. */
function killAndDeleteNamespacesSync(namespaces: readonly string[]): void {
  const existing = new Set(listNamespacesSync());
  const present = namespaces.filter((n) => existing.has(n));
  for (const netns of present) detachNamespaceSync(netns);
  const wgInterfaces = present.flatMap(tunnelInterfacesSync);
  killPidsSync(present.flatMap(namespacePidsSync));
  // Processes forked while the first ones were dying (sshd's children): a second round.
  const late = present.flatMap(namespacePidsSync);
  if (late.length) killPidsSync(late);
  for (const iface of wgInterfaces) {
    if (/^[A-Za-z0-9_=+.-]{1,15}$/.test(iface)) {
      fs.rmSync(`/var/run/wireguard/${iface}.sock`, { force: true });
    }
  }
  for (const netns of present) runSync("ip", ["netns", "del", netns]);
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
