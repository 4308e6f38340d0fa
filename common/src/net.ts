// IPv4 arithmetic for tunnel subnets: parsing, private-range checks, overlap.

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(value: unknown): value is string {
  return typeof value === "string" && IPV4.test(value);
}

export function ipv4ToInt(ip: string): number {
  if (!isIpv4(ip)) throw new Error(`not an IPv4 address: ${ip}`);
  return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join(".");
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses `a.b.c.d/n`; with `strict`, host bits must be zero. */
export function parseCidr(value: string, strict = true): Ipv4Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(value);
  if (!m || !isIpv4(m[1]) || Number(m[2]) > 32) throw new Error(`not an IPv4 CIDR: ${value}`);
  const prefix = Number(m[2]);
  const addr = ipv4ToInt(m[1]);
  const base = (addr & maskOf(prefix)) >>> 0;
  if (strict && base !== addr) throw new Error(`host bits set in ${value}`);
  return { base, prefix };
}

export function formatCidr(cidr: Ipv4Cidr): string {
  return `${intToIpv4(cidr.base)}/${cidr.prefix}`;
}

export function cidrSize(cidr: Ipv4Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  return outer.prefix <= inner.prefix && (inner.base & maskOf(outer.prefix)) >>> 0 === outer.base;
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** RFC 1918 space: the only place a tunnel subnet may live. */
export const PRIVATE_RANGES: readonly Ipv4Cidr[] = [
  parseCidr("10.0.0.0/8"),
  parseCidr("172.16.0.0/12"),
  parseCidr("192.168.0.0/16"),
];

export function isPrivateCidr(cidr: Ipv4Cidr): boolean {
  return PRIVATE_RANGES.some((range) => cidrContains(range, cidr));
}

/** n-th address of a subnet (1 = first host). */
export function hostAddress(cidr: Ipv4Cidr, n: number): string {
  if (n < 1 || n >= cidrSize(cidr) - 1) throw new Error(`host ${n} outside ${formatCidr(cidr)}`);
  return intToIpv4(cidr.base + n);
}
