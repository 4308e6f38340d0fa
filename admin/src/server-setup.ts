// What `support create` does on every tunnel server, whatever the provider:
// refuse a device network that overlaps the server's own, confine the tunnel's
// interface with nftables, WireGuard with the device as the only peer, and the
// egress SSH key generated on the server itself so its private half never leaves it.
import {
  renderWgQuickConfig,
  serverWgConfig,
  sshPublicKeySchema,
  WG_UP_SCRIPT,
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
import type { RemoteResult, RemoteShell } from "./ssh/remote-shell";

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
    /**
     * The egress key's ssh-agent (`support ssh-config`): it signs for stock ssh on
     * the engineer's machine, forwarded there as a socket, and never hands the key out.
     */
    agentSocket: `${dir}/agent.sock`,
    agentPid: `${dir}/agent.pid`,
    /** The device hop's ControlMaster socket (system-ssh.ts deviceHopArgv). */
    deviceControl: `${dir}/device.ctl`,
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

/**
 * The whole setup as one remote script (one exec: each round trip to a far server
 * costs tens of milliseconds). It first prints the server's addresses and routes
 * and waits: the caller checks the device's network against them and answers `go`
 * followed by the WireGuard config on stdin, or closes stdin, and nothing is made.
 * Every value is a positional parameter, quoted by shellQuote; the config, which
 * holds the server's private key and the PSK, comes only on stdin.
 * `$what` names the step that failed (set -e), for the error message.
 */
const SETUP_SCRIPT = `set -eu
root=$1 dir=$2 conf=$3 key=$4 known=$5 agent=$6 agentpid=$7 rules=$8 wgup=$9
what=
trap 'rc=$?; [ "$rc" -eq 0 ] || [ -z "$what" ] || printf "\\n@@failed %s\\n" "$what"' EXIT
probe() {
  what="reading the server's addresses"; printf '@@addrs\\n'; ip -4 -j addr; printf '\\n'
  what="reading the server's routes"; printf '@@routes\\n'; ip -4 -j route show table all; printf '\\n'
}
# The egress key, its known_hosts and its agent; on failure, the step is left in keys.failed.
# The agent lives as long as the tunnel's directory: destroy ends it (or the whole server goes).
egress() {
  step="generating the egress key"; ssh-keygen -q -t ed25519 -N '' -C support-tunnel-egress -f "$key" &&
  step="creating known_hosts" && (umask 077 && : > "$known") &&
  step="starting the egress key's agent" && (umask 077 && ssh-agent -a "$agent" -s > "$dir/agent.env") &&
  sed -n 's/^SSH_AGENT_PID=\\([0-9]*\\);.*/\\1/p' "$dir/agent.env" > "$agentpid" &&
  step="adding the egress key to its agent" && SSH_AUTH_SOCK="$agent" ssh-add -q "$key" 2>/dev/null ||
  { printf '%s\\n' "$step" > "$dir/keys.failed"; exit 1; }
}
command -v nft >/dev/null 2>&1 || { printf '@@no-nft\\n'; exit 3; }
probe
printf '@@probed\\n'
IFS= read -r answer || answer=
[ "$answer" = go ] || exit 0
what="creating the tunnel directory"; install -d -m 0700 "$root" "$dir"
what="writing the WireGuard config"; (umask 077 && cat > "$conf")
# Before the interface exists: it never carries anything but the two addresses.
what="loading the tunnel's nftables rules"; printf '%s' "$rules" | nft -f -
printf '@@up\\n'
# The egress key is made while WireGuard comes up: neither needs the other. Waited
# for whatever happens, so nothing of it is still starting once this script ends.
egress & egress_pid=$!
if ! sh -c "$wgup" sh "$conf" >&2; then
  wait "$egress_pid" || true
  what="WireGuard up"; exit 1
fi
what="generating the egress key"
wait "$egress_pid" || { what=$(cat "$dir/keys.failed" 2>/dev/null || echo "$what"); exit 1; }
probe
what="reading the egress public key"; printf '@@egress\\n'; cat "$key.pub"
what=
printf '@@done\\n'`;

/** The `@@name` sections of the script's output: name → the lines after it. */
function sections(output: string): Map<string, string> {
  const found = new Map<string, string>();
  let name: string | null = null;
  for (const line of output.split("\n")) {
    const marker = /^@@(\S+)(?: (.*))?$/.exec(line);
    if (marker) {
      name = marker[1]!;
      found.set(name, marker[2] ?? "");
    } else if (name !== null) {
      found.set(name, `${found.get(name)}${line}\n`);
    }
  }
  return found;
}

/** The step the script names in its `@@failed STEP` line. */
function failedStep(out: Map<string, string>): string | undefined {
  return out.get("failed")?.split("\n")[0] || undefined;
}

function failure(what: string, result: RemoteResult): Error {
  const detail = result.stderr.trim().split("\n").slice(-3).join(" / ");
  return new Error(
    `${what} failed on the tunnel server (exit ${result.code})${detail ? `: ${detail}` : ""}`,
  );
}

/** Configures WireGuard and the egress key; returns the egress public key line. */
export async function configureServer(
  shell: RemoteShell,
  input: ServerSetupInput,
): Promise<{ egressPublicKey: string }> {
  const paths = serverPaths(input.tunnelId, input.interfaceName);
  const progress = input.onProgress ?? (() => {});
  const setup = shell.start(
    [
      "sh",
      "-c",
      SETUP_SCRIPT,
      "sh",
      SERVER_STATE_ROOT,
      paths.dir,
      paths.wgConfig,
      paths.egressKey,
      paths.knownHosts,
      paths.agentSocket,
      paths.agentPid,
      renderTunnelFirewall({ interfaceName: input.interfaceName, network: input.network }),
      WG_UP_SCRIPT,
    ],
    { timeoutMs: 120_000 },
  );
  let probed: string;
  try {
    probed = await setup.readUntil("@@probed");
  } catch (err) {
    setup.end();
    const result = await setup.wait().catch(() => null);
    if (result && sections(result.stdout).has("no-nft")) throw noNft();
    const step = result && failedStep(sections(result.stdout));
    if (result && step) throw failure(step, result);
    throw err;
  }
  // A device picks its own network: on a shared server, one inside the server's
  // LAN (or another tunnel's) would take that traffic over. Checked before
  // anything is made, and again once the interface is up, in case another
  // tunnel came up meanwhile (both then refuse: fail closed).
  try {
    refuseOverlaps(sections(probed), input.network);
  } catch (err) {
    setup.end(); // no `go`: the script ends having made nothing
    await setup.wait().catch(() => undefined);
    throw err;
  }
  const config = renderWgQuickConfig(
    serverWgConfig({
      serverPrivateKey: input.serverPrivateKey,
      psk: input.psk,
      network: input.network,
      devicePublicKey: input.devicePublicKey,
      listenPort: input.wgPort,
    }),
  );
  setup.end(`go\n${config}`);
  await setup.readUntil("@@up").catch(() => undefined);
  progress("bringing WireGuard up and generating the egress key on the server");
  const result = await setup.wait();
  const out = sections(result.stdout);
  if (result.code !== 0 || !out.has("done")) {
    throw failure(failedStep(out) ?? "the server setup", result);
  }
  refuseOverlaps(out, input.network, input.interfaceName);
  const line = (out.get("egress") ?? "").trim();
  const parsed = sshPublicKeySchema.safeParse(line);
  if (!parsed.success)
    throw new Error("the egress public key read from the server is not an OpenSSH key line");
  return { egressPublicKey: parsed.data };
}

function noNft(): Error {
  return new Error(
    "nftables (`nft`) is not installed on the tunnel server: it confines each tunnel to its two addresses (apt-get install nftables)",
  );
}

/** Throws (exit Refused) when `network` overlaps an address or route of the server. */
function refuseOverlaps(probe: Map<string, string>, network: string, ownInterface?: string): void {
  const conflicts = networkConflicts(
    network,
    serverNetworkEntries(probe.get("addrs") ?? "", probe.get("routes") ?? ""),
    ownInterface,
  );
  if (conflicts.length > 0) {
    throw new CliError(describeConflicts(network, conflicts), ExitCode.Refused);
  }
}
