// Argument vectors for the system `ssh` client: how connect and command reach a
// device (engineer → server with the engineer's key → device over WireGuard with
// the egress key, which never leaves the server). Pure, so it is tested with hostile input.
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

export interface DeviceHop {
  tunnelId: string;
  interfaceName: string;
  supportUser: string;
  deviceAddress: string;
}

/** The ssh argv (without the leading `ssh`) to reach the server. */
export function serverSshArgs(
  access: ServerSshAccess,
  knownHostsPath: string,
  options: { tty: boolean; strict: "yes" | "accept-new" },
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
    ...(access.sshArgs ?? []),
    "-p",
    String(access.port),
    ...(options.tty ? ["-t"] : ["-T"]),
    `${access.username}@${access.host}`,
  ];
}

/** The command the server runs to hop to the device, as an argv (quoted by the caller). */
export function deviceHopArgv(hop: DeviceHop, inner: readonly string[], tty: boolean): string[] {
  const paths = serverPaths(hop.tunnelId, hop.interfaceName);
  return [
    "ssh",
    "-i",
    paths.egressKey,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `UserKnownHostsFile=${paths.knownHosts}`,
    "-o",
    "StrictHostKeyChecking=accept-new",
    ...COMMON_OPTIONS,
    ...(tty ? ["-tt"] : ["-T"]),
    `${hop.supportUser}@${hop.deviceAddress}`,
    "--",
    shellQuote(inner),
  ];
}

/** Full `ssh` argv for running `inner` on the device through the server. */
export function throughServerArgs(
  access: ServerSshAccess,
  knownHostsPath: string,
  hop: DeviceHop,
  inner: readonly string[],
  tty: boolean,
  strict: "yes" | "accept-new" = "yes",
): string[] {
  return [
    ...serverSshArgs(access, knownHostsPath, { tty, strict }),
    "--",
    shellQuote(deviceHopArgv(hop, inner, tty)),
  ];
}
