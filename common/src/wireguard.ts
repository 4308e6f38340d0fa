// Pure WireGuard helpers: interface names, subnet choice, and config renderers
// for both ends. Applying a config (files, `wg`, `ip`) is the callers' job.
import type { PresharedKey, TunnelId, WgPrivateKey, WgPublicKey } from "./ids";
import { isWgKeyString } from "./wg-key";
import {
  cidrsOverlap,
  isIpv4,
  formatCidr,
  hostAddress,
  type Ipv4Cidr,
  parseCidr,
  PRIVATE_RANGES,
  cidrSize,
} from "./net";

/** Linux limits interface names to 15 characters (IFNAMSIZ - 1). */
export const MAX_INTERFACE_NAME = 15;

export type TunnelSide = "device" | "server";

/**
 * `st` + side letter + the first 12 hex digits of the tunnel id: 15 characters.
 * The side letter matters in the lab, where device and server share
 * `/var/run/wireguard` and would otherwise fight over one name.
 */
export function interfaceName(tunnelId: TunnelId | string, side: TunnelSide): string {
  const hex = tunnelId.replace(/-/g, "").toLowerCase();
  if (!/^[0-9a-f]{12,}$/.test(hex)) throw new Error(`cannot name an interface after ${tunnelId}`);
  return `st${side === "device" ? "d" : "s"}${hex.slice(0, 12)}`;
}

export interface TunnelAddresses {
  network: string;
  prefix: number;
  /** First host: the device end. */
  device: string;
  /** Second host: the server end, the only address allowed to SSH into the device. */
  server: string;
}

export function tunnelAddresses(network: string): TunnelAddresses {
  const cidr = parseCidr(network, true);
  return {
    network: formatCidr(cidr),
    prefix: cidr.prefix,
    device: hostAddress(cidr, 1),
    server: hostAddress(cidr, 2),
  };
}

/**
 * Picks a random private subnet of the given prefix that overlaps none of
 * `avoid` (the device's routes and addresses: CIDRs, bare addresses or
 * `default`; IPv6 entries are ignored, they cannot overlap). Randomness is
 * injected so tests can drive it; throws only if no such subnet exists at all.
 */
export function allocateSubnet(options: {
  avoid: readonly string[];
  prefix?: number;
  randomInt?: (maxExclusive: number) => number;
  attempts?: number;
}): string {
  const prefix = options.prefix ?? 30;
  if (!Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
    throw new Error("prefix must be between 8 and 30");
  }
  const randomInt = options.randomInt ?? ((max: number) => Math.floor(Math.random() * max));
  const avoid: Ipv4Cidr[] = options.avoid
    .filter((route) => !route.includes(":"))
    .map((route) =>
      route === "default"
        ? parseCidr("0.0.0.0/0")
        : parseCidr(route.includes("/") ? route : `${route}/32`, false),
    );
  // A default route overlaps everything but is not a reason to refuse a subnet:
  // more specific routes win, so only non-default routes are avoided.
  const specific = avoid.filter((r) => r.prefix > 0);
  const attempts = options.attempts ?? 1000;
  const blockSize = 2 ** (32 - prefix);
  // Only ranges at least as big as the subnet can hold it (a /10 fits in 10/8 only).
  const ranges = PRIVATE_RANGES.filter((range) => range.prefix <= prefix);
  // Random probes first: on a real device almost every candidate is free.
  for (let i = 0; i < attempts; i++) {
    const range = ranges[randomInt(ranges.length)]!;
    const slots = cidrSize(range) / blockSize;
    const candidate: Ipv4Cidr = { base: range.base + randomInt(slots) * blockSize, prefix };
    if (!specific.some((r) => cidrsOverlap(r, candidate))) return formatCidr(candidate);
  }
  // Crowded route table: list every free block exactly and pick one of them, so
  // "nothing free" is only said when it is true.
  const free = ranges.flatMap((range) => freeRuns(range, prefix, specific));
  const total = free.reduce((sum, run) => sum + run.count, 0);
  if (total === 0) throw new Error("no free private subnet: every candidate overlaps a route");
  let index = randomInt(total);
  for (const run of free) {
    if (index < run.count) return formatCidr({ base: run.base + index * blockSize, prefix });
    index -= run.count;
  }
  throw new Error("no free private subnet: random source out of range");
}

/** Runs of consecutive free /prefix blocks inside `cidr`, found by splitting around the routes. */
function freeRuns(
  cidr: Ipv4Cidr,
  prefix: number,
  routes: readonly Ipv4Cidr[],
): { base: number; count: number }[] {
  const touching = routes.filter((r) => cidrsOverlap(r, cidr));
  if (touching.length === 0) return [{ base: cidr.base, count: 2 ** (prefix - cidr.prefix) }];
  // Some route covers all of it, or it is one block and a route sits inside it.
  if (cidr.prefix >= prefix || touching.some((r) => r.prefix <= cidr.prefix)) return [];
  const half = 2 ** (32 - cidr.prefix - 1);
  return [
    ...freeRuns({ base: cidr.base, prefix: cidr.prefix + 1 }, prefix, touching),
    ...freeRuns({ base: cidr.base + half, prefix: cidr.prefix + 1 }, prefix, touching),
  ];
}

export interface WgPeerConfig {
  publicKey: WgPublicKey;
  presharedKey: PresharedKey;
  /** Only ever a /32 of the peer's tunnel address. */
  allowedIp: string;
  endpoint?: { host: string; port: number };
  persistentKeepalive?: number;
}

export interface WgInterfaceConfig {
  privateKey: WgPrivateKey;
  listenPort?: number;
  peer: WgPeerConfig;
}

// The renderers refuse anything that is not what it claims to be: a value with a
// newline or `=` in it could otherwise add lines (even PostUp hooks) to a config.
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`cannot render WireGuard config: bad ${what}`);
}

const ENDPOINT_HOST = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

function isEndpointHost(host: string): boolean {
  return host.length <= 253 && (isIpv4(host) || ENDPOINT_HOST.test(host));
}

function isPort(n: unknown): boolean {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535;
}

function checkInterface(config: WgInterfaceConfig): void {
  check(isWgKeyString(config.privateKey), "private key");
  check(config.listenPort === undefined || isPort(config.listenPort), "listen port");
  const peer = config.peer;
  check(isWgKeyString(peer.publicKey), "peer public key");
  check(isWgKeyString(peer.presharedKey), "preshared key");
  check(isIpv4(peer.allowedIp), "peer allowed IP (an IPv4 address, rendered as a /32)");
  if (peer.endpoint) {
    check(isEndpointHost(peer.endpoint.host), "endpoint host");
    check(isPort(peer.endpoint.port), "endpoint port");
  }
  const keepalive = peer.persistentKeepalive;
  check(
    keepalive === undefined ||
      (Number.isInteger(keepalive) && keepalive >= 0 && keepalive <= 65535),
    "persistent keepalive",
  );
}

function renderPeer(peer: WgPeerConfig): string[] {
  const lines = [
    "[Peer]",
    `PublicKey = ${peer.publicKey}`,
    `PresharedKey = ${peer.presharedKey}`,
    `AllowedIPs = ${peer.allowedIp}/32`,
  ];
  if (peer.endpoint) lines.push(`Endpoint = ${peer.endpoint.host}:${peer.endpoint.port}`);
  if (peer.persistentKeepalive) lines.push(`PersistentKeepalive = ${peer.persistentKeepalive}`);
  return lines;
}

/** `wg-quick` format: keys, port, peer and the interface address. No hooks: we never let a config run commands. */
export function renderWgQuickConfig(
  config: WgInterfaceConfig & { address: string; prefix: number },
): string {
  checkInterface(config);
  check(isIpv4(config.address), "interface address");
  check(Number.isInteger(config.prefix) && config.prefix >= 8 && config.prefix <= 32, "prefix");
  const lines = [
    "[Interface]",
    `PrivateKey = ${config.privateKey}`,
    `Address = ${config.address}/${config.prefix}`,
  ];
  if (config.listenPort) lines.push(`ListenPort = ${config.listenPort}`);
  return [...lines, "", ...renderPeer(config.peer), ""].join("\n");
}

/** Keepalive that keeps NAT mappings open on the device side. */
export const DEVICE_PERSISTENT_KEEPALIVE = 25;

export interface DeviceWgConfigInput {
  devicePrivateKey: WgPrivateKey;
  psk: PresharedKey;
  network: string;
  serverPublicKey: WgPublicKey;
  endpoint: string;
  wgPort: number;
}

/** Device end: dials the server, keeps NAT open, accepts only the server's /32. */
export function deviceWgConfig(
  input: DeviceWgConfigInput,
): WgInterfaceConfig & { address: string; prefix: number } {
  const addrs = tunnelAddresses(input.network);
  return {
    privateKey: input.devicePrivateKey,
    address: addrs.device,
    prefix: addrs.prefix,
    peer: {
      publicKey: input.serverPublicKey,
      presharedKey: input.psk,
      allowedIp: addrs.server,
      endpoint: { host: input.endpoint, port: input.wgPort },
      persistentKeepalive: DEVICE_PERSISTENT_KEEPALIVE,
    },
  };
}

export interface ServerWgConfigInput {
  serverPrivateKey: WgPrivateKey;
  psk: PresharedKey;
  network: string;
  devicePublicKey: WgPublicKey;
  listenPort: number;
}

/** Server end: listens, with the device as its only peer. */
export function serverWgConfig(
  input: ServerWgConfigInput,
): WgInterfaceConfig & { address: string; prefix: number } {
  const addrs = tunnelAddresses(input.network);
  return {
    privateKey: input.serverPrivateKey,
    address: addrs.server,
    prefix: addrs.prefix,
    listenPort: input.listenPort,
    peer: { publicKey: input.devicePublicKey, presharedKey: input.psk, allowedIp: addrs.device },
  };
}
