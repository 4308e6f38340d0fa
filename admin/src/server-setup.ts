// What `support create` does on every tunnel server, whatever the provider:
// refuse a device network that overlaps the server's own, confine the tunnel's
// interface with nftables, WireGuard with the device as the only peer, and the
// egress SSH key generated on the server itself so its private half never leaves it.
import {
  renderWgQuickConfig,
  serverWgConfig,
  sshPublicKeySchema,
  type PresharedKey,
  type TunnelId,
  type WgPrivateKey,
  type WgPublicKey,
} from "@support-tunnel/common";
import { CliError, ExitCode } from "./errors";
import {
  describeConflicts,
  networkConflicts,
  renderTunnelFirewall,
  serverNetworkEntries,
} from "./server-network";
import type { RemoteShell } from "./ssh/remote-shell";

/** Everything a tunnel adds to a server lives under this directory (and its interface). */
export const SERVER_STATE_ROOT = "/var/lib/support-tunnel-server";

export function serverTunnelDir(tunnelId: TunnelId | string): string {
  return `${SERVER_STATE_ROOT}/${tunnelId}`;
}

export function serverPaths(tunnelId: TunnelId | string, interfaceName: string) {
  const dir = serverTunnelDir(tunnelId);
  return {
    dir,
    wgConfig: `${dir}/${interfaceName}.conf`,
    egressKey: `${dir}/egress`,
    egressPublicKey: `${dir}/egress.pub`,
    knownHosts: `${dir}/known_hosts`,
  };
}

export interface ServerSetupInput {
  tunnelId: TunnelId;
  interfaceName: string;
  wgPort: number;
  network: string;
  devicePublicKey: WgPublicKey;
  psk: PresharedKey;
  serverPrivateKey: WgPrivateKey;
  onProgress?: (message: string) => void;
}

async function run(
  shell: RemoteShell,
  what: string,
  argv: readonly string[],
  options?: { stdin?: string },
): Promise<string> {
  const result = await shell.exec(argv, options);
  if (result.code !== 0) {
    const detail = result.stderr.trim().split("\n").slice(-3).join(" / ");
    throw new Error(
      `${what} failed on the tunnel server (exit ${result.code})${detail ? `: ${detail}` : ""}`,
    );
  }
  return result.stdout;
}

/** Configures WireGuard and the egress key; returns the egress public key line. */
export async function configureServer(
  shell: RemoteShell,
  input: ServerSetupInput,
): Promise<{ egressPublicKey: string }> {
  const paths = serverPaths(input.tunnelId, input.interfaceName);
  const progress = input.onProgress ?? (() => {});
  const nft = await shell.exec(["sh", "-c", "command -v nft"]);
  if (nft.code !== 0) {
    throw new Error(
      "nftables (`nft`) is not installed on the tunnel server: it confines each tunnel to its two addresses (apt-get install nftables)",
    );
  }
  // A device picks its own network: on a shared server, one inside the server's
  // LAN (or another tunnel's) would take that traffic over. Checked before
  // anything is made, and again once the interface is up, in case another
  // tunnel came up meanwhile (both then refuse: fail closed).
  await refuseOverlaps(shell, input.network);
  await run(shell, "creating the tunnel directory", [
    "install",
    "-d",
    "-m",
    "0700",
    SERVER_STATE_ROOT,
    paths.dir,
  ]);
  const config = renderWgQuickConfig(
    serverWgConfig({
      serverPrivateKey: input.serverPrivateKey,
      psk: input.psk,
      network: input.network,
      devicePublicKey: input.devicePublicKey,
      listenPort: input.wgPort,
    }),
  );
  // The config holds the private key and the PSK: it goes on stdin into a 0600 file, never argv.
  await run(
    shell,
    "writing the WireGuard config",
    ["sh", "-c", 'umask 077 && cat > "$1"', "sh", paths.wgConfig],
    { stdin: config },
  );
  // Before the interface exists: it never carries anything but the two addresses.
  await run(shell, "loading the tunnel's nftables rules", ["nft", "-f", "-"], {
    stdin: renderTunnelFirewall({ interfaceName: input.interfaceName, network: input.network }),
  });
  progress("bringing WireGuard up");
  await run(shell, "wg-quick up", ["wg-quick", "up", paths.wgConfig]);
  await refuseOverlaps(shell, input.network, input.interfaceName);
  progress("generating the egress key on the server");
  await run(shell, "generating the egress key", [
    "ssh-keygen",
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    "support-tunnel-egress",
    "-f",
    paths.egressKey,
  ]);
  await run(shell, "creating known_hosts", [
    "sh",
    "-c",
    'umask 077 && : > "$1"',
    "sh",
    paths.knownHosts,
  ]);
  const line = (
    await run(shell, "reading the egress public key", ["cat", paths.egressPublicKey])
  ).trim();
  const parsed = sshPublicKeySchema.safeParse(line);
  if (!parsed.success)
    throw new Error("the egress public key read from the server is not an OpenSSH key line");
  return { egressPublicKey: parsed.data };
}

/** Throws (exit Refused) when `network` overlaps an address or route of the server. */
async function refuseOverlaps(
  shell: RemoteShell,
  network: string,
  ownInterface?: string,
): Promise<void> {
  const addrs = await run(shell, "reading the server's addresses", ["ip", "-4", "-j", "addr"]);
  const routes = await run(shell, "reading the server's routes", [
    "ip",
    "-4",
    "-j",
    "route",
    "show",
    "table",
    "all",
  ]);
  const conflicts = networkConflicts(network, serverNetworkEntries(addrs, routes), ownInterface);
  if (conflicts.length > 0) {
    throw new CliError(describeConflicts(network, conflicts), ExitCode.Refused);
  }
}
