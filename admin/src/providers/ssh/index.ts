// Provider `ssh`: an existing Linux host the engineer owns (`user@addr[:port]`),
// shared by several tunnels, each with its own interface, UDP port and directory.
// destroy removes what that one tunnel added (interface, nftables table,
// directory) and nothing else.
import { lookup } from "node:dns/promises";
import { isIpv4, interfaceName, type TunnelId } from "@support-tunnel/common";
import { runProgram } from "@support-tunnel/common/dist/run-program";
import { sshHostSchema } from "../../config";
import { CliError, ExitCode } from "../../errors";
import { shellQuote } from "../../shell-quote";
import { tunnelFirewallTable } from "../../server-network";
import { SERVER_STATE_ROOT, serverPaths, serverTunnelDir } from "../../server-setup";
import type { ObtainServerRequest, TunnelServer, TunnelServerProvider } from "../provider";

export const FIRST_WG_PORT = 51820;

export interface SshTarget {
  username: string;
  host: string;
  port: number;
}

export function parseSshTarget(value: string): SshTarget {
  if (!sshHostSchema.safeParse(value).success) {
    throw new CliError(
      `--host ${JSON.stringify(value)} must be user@host or user@host:port`,
      ExitCode.Usage,
    );
  }
  const [username, rest] = value.split("@") as [string, string];
  const [host, port] = rest.split(":") as [string, string | undefined];
  return { username, host, port: port ? Number(port) : 22 };
}

/** `user@host:port:iface`: enough to find and clean up the tunnel with no other config. */
export function sshInstanceId(target: SshTarget, iface: string): string {
  return `${target.username}@${target.host}:${target.port}:${iface}`;
}

export function parseSshInstanceId(instanceId: string): { target: SshTarget; iface: string } {
  const match = /^([a-z_][a-z0-9_-]*)@([A-Za-z0-9.-]+):([0-9]+):(st[sd][0-9a-f]{12})$/.exec(
    instanceId,
  );
  if (!match) throw new Error(`not an ssh provider instance id: ${instanceId}`);
  return {
    target: { username: match[1]!, host: match[2]!, port: Number(match[3]) },
    iface: match[4]!,
  };
}

/**
 * Picks the first UDP port from 51820 up that nothing listens on and no other
 * tunnel reserved, under a lock on the host so two creates can't pick the same one;
 * then prints the host's key (one ssh for both: each costs a connection).
 */
const RESERVE_PORT_SCRIPT = `set -e
root=$1; dir=$2; port=$3
hostkey=$(cat /etc/ssh/ssh_host_ed25519_key.pub)
install -d -m 0700 "$root"
exec 9>"$root/.lock"
flock -w 20 9
# Not -p: a second create of the same tunnel (another engineer) must not share, or later remove, this one's.
mkdir -m 0700 "$dir" || { echo "this host already has a server for tunnel $(basename "$dir")" >&2; exit 17; }
used=$( { wg show all listen-port 2>/dev/null | awk '{print $2}'; ss -Hlun 2>/dev/null | awk '{n=split($4,a,":"); print a[n]}'; cat "$root"/*/port 2>/dev/null || true; } | sort -u)
while printf '%s\\n' "$used" | grep -qx "$port"; do port=$((port+1)); done
echo "$port" > "$dir/port"
echo "$port"
printf '%s\\n' "$hostkey"`;

export interface SshProviderOptions {
  /** Where to make servers; only needed by obtain. */
  target?: SshTarget;
  privateKeyPath: string;
  /** The engineer's normal known_hosts (accept-new), so a changed host key is refused. */
  knownHostsPath?: string;
}

export class SshProvider implements TunnelServerProvider {
  readonly name = "ssh" as const;
  constructor(private readonly options: SshProviderOptions) {}

  private async run(
    target: SshTarget,
    argv: readonly string[],
    timeoutMs = 30_000,
  ): Promise<string> {
    const result = await runProgram(
      "ssh",
      [
        "-i",
        this.options.privateKeyPath,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        ...(this.options.knownHostsPath
          ? ["-o", `UserKnownHostsFile=${this.options.knownHostsPath}`]
          : []),
        "-o",
        "ConnectTimeout=10",
        "-o",
        "LogLevel=ERROR",
        "-p",
        String(target.port),
        `${target.username}@${target.host}`,
        "--",
        shellQuote(argv),
      ],
      { timeoutMs },
    );
    if (result.exitCode !== 0) {
      const why = result.timedOut ? "timed out" : `exit ${result.exitCode ?? result.signal}`;
      const said = result.startError?.message ?? result.stderr;
      throw new Error(
        `${argv[0]} on ${target.username}@${target.host}:${target.port} failed (${why}): ${said.trim().slice(0, 300)}`,
      );
    }
    return result.stdout;
  }

  async preflight(): Promise<void> {
    if (!this.options.target) {
      throw new CliError(
        "provider ssh needs a host: pass --host user@addr[:port] (or set ssh.host in the config)",
        ExitCode.Usage,
      );
    }
    await this.run(this.options.target, ["true"]);
  }

  async obtain(request: ObtainServerRequest): Promise<TunnelServer> {
    const target = this.options.target;
    if (!target) throw new CliError("provider ssh needs --host user@addr[:port]", ExitCode.Usage);
    const publicIp = isIpv4(target.host)
      ? target.host
      : (await lookup(target.host, { family: 4 })).address;
    const iface = interfaceName(request.tunnelId, "server");
    // The host key comes over a connection verified against the engineer's known_hosts
    // (accept-new), then is pinned for node-ssh and for connect/command.
    const reserved = await this.run(target, [
      "sh",
      "-c",
      RESERVE_PORT_SCRIPT,
      "sh",
      SERVER_STATE_ROOT,
      serverTunnelDir(request.tunnelId),
      String(FIRST_WG_PORT),
    ]).catch((err: Error) => {
      if (err.message.includes("already has a server for tunnel")) {
        throw new CliError(
          `${target.host} already has a server for tunnel ${request.tunnelId}: another create of it is under way`,
          ExitCode.Conflict,
        );
      }
      throw err;
    });
    const [portLine = "", hostKey = ""] = reserved.trim().split("\n");
    const port = Number(portLine.trim());
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`could not reserve a UDP port on ${target.host}`);
    }
    return {
      instanceId: sshInstanceId(target, iface),
      provider: "ssh",
      publicIp,
      wgPort: port,
      interfaceName: iface,
      ssh: {
        host: target.host,
        port: target.port,
        username: target.username,
        privateKeyPath: this.options.privateKeyPath,
        hostKey: hostKey.split(/\s+/).slice(0, 2).join(" "),
      },
    };
  }

  async destroy(server: { instanceId: string; tunnelId: TunnelId }): Promise<void> {
    const { target, iface } = parseSshInstanceId(server.instanceId);
    const paths = serverPaths(server.tunnelId, iface);
    await this.run(target, [
      "sh",
      "-c",
      // The egress key's agent first: once its directory is gone, nothing names its pid.
      // Then the device hop's shared connection (system-ssh.ts), which goes with the tunnel.
      'pid=$(cat "$5" 2>/dev/null || true); case "$pid" in ""|*[!0-9]*) ;; *) kill "$pid" 2>/dev/null || true;; esac; if [ -S "$6" ]; then ssh -F none -o ControlPath="$6" -O exit device >/dev/null 2>&1 || true; fi; if [ -f "$1" ]; then wg-quick down "$1" >/dev/null 2>&1 || true; fi; ip link del dev "$2" 2>/dev/null || true; nft delete table inet "$3" 2>/dev/null || true; rm -rf -- "$4"',
      "sh",
      paths.wgConfig,
      iface,
      tunnelFirewallTable(iface),
      paths.dir,
      paths.agentPid,
      paths.deviceControl,
    ]);
  }

  async list(): Promise<{ instanceId: string; tunnelId: TunnelId }[]> {
    const target = this.options.target;
    if (!target) return [];
    const out = await this.run(target, [
      "sh",
      "-c",
      'ls -1 "$1" 2>/dev/null || true',
      "sh",
      SERVER_STATE_ROOT,
    ]);
    return out
      .split("\n")
      .map((s) => s.trim())
      .filter((s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s))
      .map((id) => ({
        tunnelId: id as TunnelId,
        instanceId: sshInstanceId(target, interfaceName(id, "server")),
      }));
  }
}
