// What a device's network may do on a (possibly shared) tunnel server, as pure
// functions: refuse a network that overlaps anything the server already has, and
// the nftables table that confines the tunnel's interface to its two addresses.
import { cidrsOverlap, parseCidr, tunnelAddresses } from "@support-tunnel/common";

/** One address or route the server has, as `ip -j` reports it. */
export interface ServerNetworkEntry {
  kind: "address" | "route";
  /** `10.1.0.5/16` for an address (with its prefix), `10.1.0.0/16` or `10.1.2.3` for a route. */
  cidr: string;
  /** The interface it is on, or the route's type when it has none (blackhole, unreachable). */
  dev: string;
}

interface IpAddrLink {
  ifname?: unknown;
  addr_info?: { family?: unknown; local?: unknown; prefixlen?: unknown }[];
}

interface IpRoute {
  dst?: unknown;
  dev?: unknown;
  type?: unknown;
}

const IPV4_CIDR = /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/;

/**
 * The server's IPv4 addresses and routes from `ip -4 -j addr` and `ip -4 -j route
 * show table all`. The default route is left out: it overlaps everything, and a
 * more specific tunnel route is exactly what it is there to be overridden by.
 */
export function serverNetworkEntries(addrJson: string, routeJson: string): ServerNetworkEntry[] {
  const links = JSON.parse(addrJson || "[]") as IpAddrLink[];
  const routes = JSON.parse(routeJson || "[]") as IpRoute[];
  if (!Array.isArray(links) || !Array.isArray(routes))
    throw new Error("`ip -j` on the tunnel server did not answer with a list");
  const entries: ServerNetworkEntry[] = [];
  for (const link of links) {
    for (const info of link.addr_info ?? []) {
      if (info.family !== undefined && info.family !== "inet") continue;
      if (typeof info.local !== "string" || typeof info.prefixlen !== "number") continue;
      entries.push({
        kind: "address",
        cidr: `${info.local}/${info.prefixlen}`,
        dev: typeof link.ifname === "string" ? link.ifname : "?",
      });
    }
  }
  for (const route of routes) {
    if (typeof route.dst !== "string" || !IPV4_CIDR.test(route.dst)) continue; // default, IPv6
    const dev =
      typeof route.dev === "string"
        ? route.dev
        : typeof route.type === "string"
          ? `a ${route.type} route`
          : "?";
    entries.push({ kind: "route", cidr: route.dst, dev });
  }
  return entries.filter((e) => {
    try {
      return parseCidr(e.cidr.includes("/") ? e.cidr : `${e.cidr}/32`, false).prefix > 0;
    } catch {
      return false;
    }
  });
}

/** Every entry whose block overlaps `network`, except those on `exceptInterface` (the tunnel's own). */
export function networkConflicts(
  network: string,
  entries: readonly ServerNetworkEntry[],
  exceptInterface?: string,
): ServerNetworkEntry[] {
  const wanted = parseCidr(network, true);
  return entries.filter((e) => {
    if (exceptInterface !== undefined && e.dev === exceptInterface) return false;
    const cidr = parseCidr(e.cidr.includes("/") ? e.cidr : `${e.cidr}/32`, false);
    return cidrsOverlap(wanted, cidr);
  });
}

/** "the device's network 10.1.2.0/30 overlaps 10.1.0.5/16 on eth1 of the tunnel server; refusing". */
export function describeConflicts(
  network: string,
  conflicts: readonly ServerNetworkEntry[],
): string {
  const named = conflicts
    .slice(0, 3)
    .map((c) => `${c.cidr} on ${c.dev}`)
    .join(", ");
  const more = conflicts.length > 3 ? ` and ${conflicts.length - 3} more` : "";
  return `the device's network ${network} overlaps ${named}${more} of the tunnel server; refusing (a device must not take over the server's own networks or another tunnel's)`;
}

/** Interface names we make (`sts` + 12 hex): also safe as an nftables table name. */
const TUNNEL_INTERFACE = /^st[sd][0-9a-f]{12}$/;

/** The nftables table that confines one tunnel: `inet <interface>`, one per tunnel, removed with it. */
export function tunnelFirewallTable(interfaceName: string): string {
  if (!TUNNEL_INTERFACE.test(interfaceName))
    throw new Error(`not a tunnel interface name: ${interfaceName}`);
  return interfaceName;
}

/**
 * The ruleset (for `nft -f -`) that lets the tunnel's interface carry only the
 * server's tunnel address ↔ the device's, started by the server: the device can
 * reach nothing on or behind the server (no forwarding between tunnels or into
 * the LAN, no service of the server), and the server's tunnel address leaves only
 * through this interface, so the hop to the device (bound to that address) cannot
 * be routed anywhere else. Idempotent: the table is declared, deleted and made
 * whole in one transaction. Names match the interface (iifname), so it can be
 * loaded before the interface exists.
 */
export function renderTunnelFirewall(input: { interfaceName: string; network: string }): string {
  const table = tunnelFirewallTable(input.interfaceName);
  const iface = `"${input.interfaceName}"`;
  const { device, server } = tunnelAddresses(input.network);
  return [
    `table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    `  chain input {`,
    `    type filter hook input priority -10; policy accept;`,
    `    iifname ${iface} ip saddr ${device} ip daddr ${server} ct state established,related accept`,
    `    iifname ${iface} counter drop`,
    `  }`,
    `  chain forward {`,
    `    type filter hook forward priority -10; policy accept;`,
    `    iifname ${iface} counter drop`,
    `    oifname ${iface} counter drop`,
    `  }`,
    `  chain output {`,
    `    type filter hook output priority -10; policy accept;`,
    `    oifname ${iface} ip saddr ${server} ip daddr ${device} accept`,
    `    oifname ${iface} counter drop`,
    `    ip saddr ${server} counter drop`,
    `  }`,
    `}`,
    "",
  ].join("\n");
}
