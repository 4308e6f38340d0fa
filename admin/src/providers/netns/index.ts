// Provider `netns`: the tunnel server is a host of a running lab (a network
// namespace on this machine with its own sshd and /etc, on the lab's "internet"
// segment). For the lab, the demo and the end-to-end tests.
import { interfaceName, type TunnelId } from "@support-tunnel/common";
import type { Lab } from "@support-tunnel/lab";
import { CliError, ExitCode } from "../../errors";
import type { ObtainServerRequest, TunnelServer, TunnelServerProvider } from "../provider";

export const NETNS_WG_PORT = 51820;
/** Inside the server host: which tunnel it serves (host names only hold 12 hex digits). */
const TUNNEL_ID_FILE = "/etc/support-tunnel-server-id";

/** `ts` + the first 12 hex digits of the tunnel id: a valid, unique lab host name. */
export function netnsHostName(tunnelId: TunnelId | string): string {
  return `ts${tunnelId.replace(/-/g, "").slice(0, 12)}`;
}

export function netnsInstanceId(lab: string, host: string): string {
  return `${lab}:${host}`;
}

export function parseNetnsInstanceId(instanceId: string): { lab: string; host: string } {
  const match = /^([a-z][a-z0-9]{0,11}):(ts[0-9a-f]{12})$/.exec(instanceId);
  if (!match) throw new Error(`not a netns provider instance id: ${instanceId}`);
  return { lab: match[1]!, host: match[2]! };
}

export interface NetnsProviderOptions {
  lab?: string;
  privateKeyPath: string;
  publicKey: string;
  open?: (name: string) => Promise<Lab>;
}

export class NetnsProvider implements TunnelServerProvider {
  readonly name = "netns" as const;
  private readonly open: (name: string) => Promise<Lab>;
  constructor(private readonly options: NetnsProviderOptions) {
    // Loaded on first use: `support command` and friends should not pay for the lab module.
    this.open =
      options.open ??
      ((name) =>
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        (require("@support-tunnel/lab") as typeof import("@support-tunnel/lab")).openLab(name));
  }

  private async lab(name = this.options.lab): Promise<Lab> {
    if (!name) {
      throw new CliError(
        "provider netns needs a running lab: pass --lab NAME (or set SUPPORT_LAB, or netns.lab in the config)",
        ExitCode.Usage,
      );
    }
    try {
      return await this.open(name);
    } catch (err) {
      throw new CliError(`provider netns: ${(err as Error).message}`, ExitCode.Failure);
    }
  }

  async preflight(): Promise<void> {
    if (process.getuid?.() !== 0)
      throw new CliError("provider netns needs root (it makes network namespaces)");
    await this.lab();
  }

  async obtain(request: ObtainServerRequest): Promise<TunnelServer> {
    const lab = await this.lab();
    const hostName = netnsHostName(request.tunnelId);
    request.onProgress?.(`adding host ${hostName} to lab ${lab.name}`);
    let host: Awaited<ReturnType<Lab["addHost"]>>;
    try {
      host = await lab.addHost(hostName);
    } catch (err) {
      // Another create of this tunnel (another engineer) got there first.
      if (/already has a host/.test((err as Error).message)) {
        throw new CliError(
          `lab ${lab.name} already has a server for tunnel ${request.tunnelId}: another create of it is under way`,
          ExitCode.Conflict,
        );
      }
      throw err;
    }
    try {
      await host.writeFile(TUNNEL_ID_FILE, request.tunnelId + "\n", 0o644);
      request.onProgress?.("starting sshd");
      const sshd = await host.startSshd({ authorizedKeysForRoot: [this.options.publicKey] });
      return {
        instanceId: netnsInstanceId(lab.name, hostName),
        provider: "netns",
        publicIp: host.address,
        wgPort: NETNS_WG_PORT,
        interfaceName: interfaceName(request.tunnelId, "server"),
        ssh: {
          host: host.address,
          port: sshd.port,
          username: "root",
          privateKeyPath: this.options.privateKeyPath,
          hostKey: sshd.hostPublicKey,
        },
      };
    } catch (err) {
      await lab.removeHost(hostName).catch(() => undefined);
      throw err;
    }
  }

  async destroy(server: { instanceId: string; tunnelId: TunnelId }): Promise<void> {
    const { lab: labName, host } = parseNetnsInstanceId(server.instanceId);
    let lab: Lab;
    try {
      lab = await this.open(labName);
    } catch {
      return; // the lab is gone, and its hosts with it
    }
    if (lab.hosts().some((h) => h.name === host)) await lab.removeHost(host);
  }

  async list(): Promise<{ instanceId: string; tunnelId: TunnelId }[]> {
    if (!this.options.lab) return [];
    let lab: Lab;
    try {
      lab = await this.open(this.options.lab);
    } catch {
      return []; // no such lab (any more): no servers in it either
    }
    const servers: { instanceId: string; tunnelId: TunnelId }[] = [];
    for (const host of lab.hosts()) {
      if (!/^ts[0-9a-f]{12}$/.test(host.name)) continue;
      const id = (await host.readFile(TUNNEL_ID_FILE).catch(() => "")).trim();
      if (id)
        servers.push({
          instanceId: netnsInstanceId(lab.name, host.name),
          tunnelId: id as TunnelId,
        });
    }
    return servers;
  }
}
