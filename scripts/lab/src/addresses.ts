// The lab's address plan and names, as pure functions so the choices that keep
// labs from colliding with each other and with the machine can be tested alone.
import {
  cidrsOverlap,
  formatCidr,
  intToIpv4,
  parseCidr,
  type Ipv4Cidr,
} from "@support-tunnel/common";

/**
 * Where lab "internet" segments live: shared address space (RFC 6598), which is
 * neither RFC 1918 (so a device's tunnel subnet can never collide with it) nor
 * public. Each lab takes one /24 of it.
 */
export const INTERNET_POOL = "100.64.0.0/10";

/**
 * Used when INTERNET_POOL is taken (e.g. Tailscale routes all of 100.64.0.0/10):
 * the benchmarking range (RFC 2544), also neither private nor public.
 */
export const FALLBACK_INTERNET_POOL = "198.18.0.0/15";

/** Device LANs behind NAT routers; each NAT'ed host gets its own /24 here. */
export const LAN_POOL = "172.31.0.0/16";

export const LAB_NAME = /^[a-z][a-z0-9]{0,11}$/;
export const HOST_NAME = /^[a-z][a-z0-9]{0,15}$/;

/** Reserved host names: they would collide with the lab's own namespaces. */
const RESERVED_HOST_NAMES = new Set(["inet"]);

export function assertLabName(name: string): void {
  if (!LAB_NAME.test(name)) {
    throw new Error(`invalid lab name ${JSON.stringify(name)}: want ${LAB_NAME.source}`);
  }
}

export function assertHostName(name: string): void {
  if (!HOST_NAME.test(name) || RESERVED_HOST_NAMES.has(name)) {
    throw new Error(
      `invalid lab host name ${JSON.stringify(name)}: want ${HOST_NAME.source}, not "inet"`,
    );
  }
}

/** Network namespace names; all start with `stlab-<lab>-` so leftovers can be found. */
export const namespaceNames = {
  prefix: (lab: string) => `stlab-${lab}-`,
  internet: (lab: string) => `stlab-${lab}-inet`,
  host: (lab: string, host: string) => `stlab-${lab}-${host}`,
  router: (lab: string, host: string) => `stlab-${lab}-${host}-nat`,
};

/** Parses a namespace name back to its lab, or null if it is not a lab namespace. */
export function labOfNamespace(netns: string): string | null {
  const m = /^stlab-([a-z][a-z0-9]{0,11})-/.exec(netns);
  return m ? m[1]! : null;
}

/** The root namespace's veth into the lab's internet bridge: `stlab` + 4 hex (9 chars). */
export function rootInterfaceName(labId: string): string {
  if (!/^[0-9a-f]{4}$/.test(labId)) throw new Error(`invalid lab id ${labId}`);
  return `stlab${labId}`;
}

/**
 * Picks a free /24 for a lab's internet segment inside INTERNET_POOL, avoiding
 * `taken` (other labs' segments and every route/address of the root namespace).
 */
export function chooseInternetSegment(
  taken: readonly string[],
  randomInt: (maxExclusive: number) => number = (max) => Math.floor(Math.random() * max),
): string {
  const avoid: Ipv4Cidr[] = taken
    .filter((t) => t !== "default" && t !== "0.0.0.0/0")
    .map((t) => parseCidr(t.includes("/") ? t : `${t}/32`, false));
  for (const poolCidr of [INTERNET_POOL, FALLBACK_INTERNET_POOL]) {
    const pool = parseCidr(poolCidr);
    const slots = 2 ** (24 - pool.prefix);
    const start = randomInt(slots);
    for (let i = 0; i < slots; i++) {
      const candidate: Ipv4Cidr = { base: pool.base + ((start + i) % slots) * 256, prefix: 24 };
      if (!avoid.some((a) => cidrsOverlap(a, candidate))) return formatCidr(candidate);
    }
  }
  throw new Error(`no free /24 left in ${INTERNET_POOL} or ${FALLBACK_INTERNET_POOL}`);
}

/** `n`-th address of a /24 segment given as `a.b.c.0/24`. */
export function segmentAddress(cidr: string, n: number): string {
  const c = parseCidr(cidr);
  if (n < 1 || n > 254) throw new Error(`host ${n} outside ${cidr}`);
  return intToIpv4(c.base + n);
}

/** The root namespace takes .1 of the segment; hosts and NAT routers take the lowest free of .2-.254. */
export function nextSegmentAddress(cidr: string, used: readonly string[]): string {
  for (let n = 2; n <= 254; n++) {
    const candidate = segmentAddress(cidr, n);
    if (!used.includes(candidate)) return candidate;
  }
  throw new Error(`lab segment ${cidr} is full`);
}

/** The LAN behind the NAT router of the host with lab-wide index `index`: router .1, host .2. */
export function lanPlan(index: number): { cidr: string; router: string; host: string } {
  const third = (index % 254) + 1;
  const base = `172.31.${third}`;
  return { cidr: `${base}.0/24`, router: `${base}.1`, host: `${base}.2` };
}
