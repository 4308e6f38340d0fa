// Where the consent page listens, and which Host headers name it. A page that
// answers any Host can be reached by DNS rebinding (a site whose name turns into
// 127.0.0.1 after the browser loaded it); this one answers only its own names.
import { isIP } from "node:net";
import * as os from "node:os";
import { UsageError } from "../errors";

export const DEFAULT_LISTEN = "127.0.0.1:7480";

export interface ListenAddress {
  /** An IP address (IPv6 without brackets). */
  host: string;
  port: number;
  /** 127.0.0.0/8 or ::1: reachable from this machine only. */
  loopback: boolean;
}

/** `127.0.0.1:7480`, `[::1]:7480`, `localhost:7480`, `0.0.0.0:7480`; port 0 picks a free one. */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(`not a listen address: ${text} (e.g. 127.0.0.1:7480 or [::1]:7480)`);
  }
  let host = (m[1] ?? m[2]!).toLowerCase();
  if (host === "localhost") host = "127.0.0.1";
  const family = isIP(host);
  if (family === 0 || (m[1] !== undefined && family !== 6)) {
    throw new UsageError(`listen address ${text}: the host must be an IP address or localhost`);
  }
  return { host, port, loopback: isLoopback(host) };
}

export function isListenAddress(text: string): boolean {
  try {
    parseListenAddress(text);
    return true;
  } catch {
    return false;
  }
}

export function isLoopback(ip: string): boolean {
  if (isIP(ip) === 4) return ip.startsWith("127.");
  const v6 = ip.toLowerCase();
  return v6 === "::1" || v6.startsWith("::ffff:127.");
}

function hostPart(name: string): string {
  return isIP(name) === 6 ? `[${name.toLowerCase()}]` : name.toLowerCase();
}

/**
 * The Host header values the page answers to, once it listens on `port`:
 * `localhost` and the address it listens on; for a wildcard address every
 * address of this machine and its host name; and the names the config adds.
 */
export function allowedHosts(
  listen: ListenAddress,
  port: number,
  extraNames: readonly string[] = [],
  machine: { addresses(): string[]; hostname(): string } = thisMachine,
): Set<string> {
  const names = new Set<string>(["localhost", listen.host, ...extraNames]);
  if (listen.host === "0.0.0.0" || listen.host === "::") {
    for (const address of machine.addresses()) names.add(address);
    names.add(machine.hostname());
  }
  const hosts = new Set<string>();
  for (const name of names) {
    hosts.add(`${hostPart(name)}:${port}`);
    if (port === 80) hosts.add(hostPart(name));
  }
  return hosts;
}

const thisMachine = {
  addresses: () =>
    Object.values(os.networkInterfaces())
      .flat()
      .filter((i) => i !== undefined)
      .map((i) => i.address),
  hostname: () => os.hostname(),
};
