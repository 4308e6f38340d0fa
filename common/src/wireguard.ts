// Pure WireGuard helpers: interface names, subnet choice, and config renderers
// for both ends. Applying a config (files, `wg`, `ip`) is the callers' job.
import type { PresharedKey, TunnelId, WgPrivateKey, WgPublicKey } from "./ids";
import {
  cidrsOverlap,
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
 * `avoid` (the device's routes and addresses). Randomness is injected so tests
 * can drive it; throws if nothing free turns up.
 */
export function allocateSubnet(options: {
  avoid: readonly string[];
  prefix?: number;
  randomInt?: (maxExclusive: number) => number;
  attempts?: number;
}): string {
  const prefix = options.prefix ?? 30;
  if (prefix < 8 || prefix > 30) throw new Error("prefix must be between 8 and 30");
  const randomInt = options.randomInt ?? ((max: number) => Math.floor(Math.random() * max));
  const avoid: Ipv4Cidr[] = options.avoid.map((route) =>
    route === "default"
      ? parseCidr("0.0.0.0/0")
      : parseCidr(route.includes("/") ? route : `${route}/32`, false),
  );
  // A default route overlaps everything but is not a reason to refuse a subnet:
  // more specific routes win, so only non-default routes are avoided.
  const specific = avoid.filter((r) => r.prefix > 0);
  const attempts = options.attempts ?? 1000;
  for (let i = 0; i < attempts; i++) {
    const range = PRIVATE_RANGES[randomInt(PRIVATE_RANGES.length)]!;
    const slots = cidrSize(range) / 2 ** (32 - prefix);
    const candidate: Ipv4Cidr = {
      base: range.base + randomInt(slots) * 2 ** (32 - prefix),
      prefix,
    };
    if (!specific.some((r) => cidrsOverlap(r, candidate))) return formatCidr(candidate);
  }
  throw new Error("no free private subnet: every candidate overlaps a route");
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

/** `wg setconf` format: keys only, no addresses. */
export function renderWgSetconf(config: WgInterfaceConfig): string {
  const lines = ["[Interface]", `PrivateKey = ${config.privateKey}`];
  if (config.listenPort) lines.push(`ListenPort = ${config.listenPort}`);
  return [...lines, "", ...renderPeer(config.peer), ""].join("\n");
}

/** `wg-quick` format: setconf plus the interface address. No hooks: we never let a config run commands. */
export function renderWgQuickConfig(
  config: WgInterfaceConfig & { address: string; prefix: number },
): string {
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
