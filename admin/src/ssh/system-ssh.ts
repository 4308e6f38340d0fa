// Argument vectors for the system `ssh` client: how connect and command reach a
// device (engineer → server with the engineer's key → device over WireGuard with
// the egress key, which never leaves the server). Pure, so it is tested with hostile input.
import { supportUserSchema, tunnelAddresses } from "@support-tunnel/common";
import { shellQuote } from "../shell-quote";
import type { ServerSshAccess } from "../providers/provider";
import { serverPaths } from "../server-setup";

/** Options every hop uses: no agent or X11 forwarding, no password prompts. */
const COMMON_OPTIONS = [
  "-o",
  "BatchMode=yes",
  "-o",
  "ForwardAgent=no",
  "-o",
  "ForwardX11=no",
  "-o",
  "ConnectTimeout=15",
  "-o",
  "ServerAliveInterval=3",
  "-o",
  "ServerAliveCountMax=3",
  "-o",
  "LogLevel=ERROR",
];

/** Where the hop from the server goes: all of it as `support create` recorded it. */
export interface DeviceHop {
  tunnelId: string;
  /** The tunnel's interface on the server: the only way the hop may leave. */
  interfaceName: string;
  supportUser: string;
  /** The tunnel's network; the device's address must be its first host. */
  network: string;
  deviceAddress: string;
  /** The name the device's host key is pinned under (deviceHostKeyAlias). */
  hostKeyAlias: string;
}

/**
 * The name the device's SSH host key is pinned under in the tunnel's known_hosts
 * on the server: tied to the tunnel, not to an address an api answer could name.
 */
export function deviceHostKeyAlias(tunnelId: string): string {
  return `device.${tunnelId}.support-tunnel`;
}

const TUNNEL_INTERFACE = /^st[sd][0-9a-f]{12}$/;
const HOST_KEY_ALIAS = /^device\.[0-9a-f-]{36}\.support-tunnel$/;

/** How long an idle first-hop master stays up after its last session. */
export const CONTROL_PERSIST_SECONDS = 600;

/**
 * Options that share one connection to the server between invocations (an OpenSSH
 * ControlMaster at `controlPath`): the first one becomes the master and stays
 * CONTROL_PERSIST_SECONDS after its last session, later ones only open a channel.
 * A stale socket (its master gone) is replaced by OpenSSH itself.
 */
export function multiplexOptions(controlPath: string): string[] {
  return [
    "-o",
    "ControlMaster=auto",
    "-o",
    `ControlPath=${controlPath}`,
    "-o",
    `ControlPersist=${CONTROL_PERSIST_SECONDS}`,
  ];
}

/** The ssh argv (without the leading `ssh`) to reach the server. */
export function serverSshArgs(
  access: ServerSshAccess,
  knownHostsPath: string,
  options: { tty: boolean; strict: "yes" | "accept-new"; controlPath?: string },
): string[] {
  return [
    "-i",
    access.privateKeyPath,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `UserKnownHostsFile=${knownHostsPath}`,
    "-o",
    `StrictHostKeyChecking=${options.strict}`,
    ...COMMON_OPTIONS,
    ...(options.controlPath ? multiplexOptions(options.controlPath) : []),
    ...(access.sshArgs ?? []),
    "-p",
    String(access.port),
    ...(options.tty ? ["-t"] : ["-T"]),
    `${access.username}@${access.host}`,
  ];
}

/**
 * The command the server runs to hop to the device, as an argv (quoted by the
 * caller). The hop is bound to the tunnel interface's address (BindInterface; the
 * tunnel's nftables table lets that address leave only through that interface),
 * and the device's host key is checked strictly under the tunnel's alias. Only
 * `firstContact` (create, once the device reports it is up) accepts a new key:
 * the tunnel's known_hosts is empty then, and the only peer on the interface is
 * the device that holds the PSK; it runs no command (`inner` is ignored).
 *
 * The hop is multiplexed: the first one (create's first contact) stays as a
 * ControlMaster on the server, its socket in the tunnel's 0700 directory, for as
 * long as the tunnel (ServerAlive ends it when the device goes; the provider's
 * destroy ends it with the server), so a later command opens only a channel, not
 * a connection with its key exchange. The host key was checked when that
 * connection was made, and each channel is still a session of its own through
 * the device's forced session program, recorded as before.
 */
export function deviceHopArgv(
  hop: DeviceHop,
  inner: readonly string[],
  tty: boolean,
  options: { firstContact?: boolean } = {},
): string[] {
  return [
    ...deviceHopOptions(hop, options.firstContact === true),
    // First contact opens the connection, pins the key and goes to the background
    // as the master (-N -f): no session, so nothing runs on the device and the
    // customer's record holds only what the engineer ran.
    ...(options.firstContact ? ["-N", "-f"] : tty ? ["-tt"] : ["-T"]),
    `${hop.supportUser}@${hop.deviceAddress}`,
    ...(options.firstContact ? [] : ["--", shellQuote(inner)]),
  ];
}

/**
 * The hop for one forwarded connection: `ssh -W 127.0.0.1:PORT` over the same
 * pinned, interface-bound hop, its stdin and stdout the connection. It opens a
 * direct-tcpip channel, no session: the device's `permitopen` decides (a port
 * the customer did not allow is "administratively prohibited"), and the
 * session `support forward` holds open beside it is what the timeline shows.
 */
export function deviceForwardHopArgv(hop: DeviceHop, port: number): string[] {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a port: ${port}`);
  return [
    ...deviceHopOptions(hop, false),
    "-W",
    `127.0.0.1:${port}`,
    `${hop.supportUser}@${hop.deviceAddress}`,
  ];
}

/**
 * Key exchanges the hop to the device does not offer: OpenSSH 9.x's sntrup761
 * hybrid, whose key generation costs the server ~85 ms of CPU per connection
 * here (first contact 0.19 s with it, 0.10 s without). The hop runs only inside
 * the WireGuard tunnel, whose preshared key already guards it against a future
 * quantum computer; ML-KEM (OpenSSH 9.9+, fast) stays offered. A `-` list removes
 * from the client's defaults, and OpenSSH does not check the names it removes,
 * so a client that never had them is unaffected.
 */
const DEVICE_HOP_KEX = "-sntrup761x25519-sha512@openssh.com,sntrup761x25519-sha512";

/** `ssh` and the options every hop to the device has, checked against the record's shapes. */
function deviceHopOptions(hop: DeviceHop, firstContact: boolean): string[] {
  if (!TUNNEL_INTERFACE.test(hop.interfaceName))
    throw new Error(`not a tunnel interface: ${JSON.stringify(hop.interfaceName)}`);
  if (!supportUserSchema.safeParse(hop.supportUser).success)
    throw new Error(`not a support user: ${JSON.stringify(hop.supportUser)}`);
  if (!HOST_KEY_ALIAS.test(hop.hostKeyAlias))
    throw new Error(`not a host key alias: ${JSON.stringify(hop.hostKeyAlias)}`);
  if (tunnelAddresses(hop.network).device !== hop.deviceAddress)
    throw new Error(`${hop.deviceAddress} is not the device's address in ${hop.network}`);
  const paths = serverPaths(hop.tunnelId, hop.interfaceName);
  return [
    "ssh",
    // No ssh_config of the server's (a Host block could add a ProxyJump or another key).
    "-F",
    "none",
    "-i",
    paths.egressKey,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `BindInterface=${hop.interfaceName}`,
    "-o",
    `UserKnownHostsFile=${paths.knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    `HostKeyAlias=${hop.hostKeyAlias}`,
    "-o",
    "CheckHostIP=no",
    "-o",
    "UpdateHostKeys=no",
    "-o",
    `StrictHostKeyChecking=${firstContact ? "accept-new" : "yes"}`,
    "-o",
    `KexAlgorithms=${DEVICE_HOP_KEX}`,
    ...COMMON_OPTIONS,
    "-o",
    "ControlMaster=auto",
    "-o",
    `ControlPath=${paths.deviceControl}`,
    "-o",
    "ControlPersist=yes",
  ];
}

/** Full `ssh` argv for one forwarded connection to the device's `port`, through the server. */
export function forwardThroughServerArgs(
  access: ServerSshAccess,
  knownHostsPath: string,
  hop: DeviceHop,
  port: number,
  options: { controlPath?: string } = {},
): string[] {
  return [
    ...serverSshArgs(access, knownHostsPath, {
      tty: false,
      strict: "yes",
      controlPath: options.controlPath,
    }),
    "--",
    shellQuote(deviceForwardHopArgv(hop, port)),
  ];
}

/**
 * What the server's shell runs before a gated hop: it waits for this line on
 * stdin, and hops to the device only once it is read. `read` takes the line
 * byte by byte from a pipe, so what follows it on stdin is the command's.
 */
export const HOP_GATE_LINE = "go";
const HOP_GATE = `read -r gate && [ "$gate" = ${HOP_GATE_LINE} ] && exec `;

/**
 * Full `ssh` argv for running `inner` on the device through the server. `gated`:
 * the server waits for HOP_GATE_LINE on stdin before it hops, so the connection
 * to the server can be made while the api is still asked, and an end of stdin
 * without that line (a refusal, or the caller gone) runs nothing on the device.
 */
export function throughServerArgs(
  access: ServerSshAccess,
  knownHostsPath: string,
  hop: DeviceHop,
  inner: readonly string[],
  tty: boolean,
  options: { firstContact?: boolean; controlPath?: string; gated?: boolean } = {},
): string[] {
  if (options.gated && tty)
    throw new Error("a gated hop reads its gate from stdin: not with a tty");
  return [
    ...serverSshArgs(access, knownHostsPath, {
      tty,
      strict: "yes",
      controlPath: options.controlPath,
    }),
    "--",
    (options.gated ? HOP_GATE : "") + shellQuote(deviceHopArgv(hop, inner, tty, options)),
  ];
}
