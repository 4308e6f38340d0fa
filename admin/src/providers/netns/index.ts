// Provider `netns`: the tunnel server is a host of a running lab (a network
// namespace on this machine with its own sshd and /etc, on the lab's "internet"
// segment). For the lab, the demo and the end-to-end tests. The lab is a
// development package: the provider states what it needs of one (NetnsLab) and
// is handed a way to open it (the CLI's is in lab-backend.ts).
import { interfaceName, type TunnelId } from "@support-tunnel/common";
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

/** What the provider needs of a running lab (the lab's own `Lab` has more). */
export interface NetnsLab {
  readonly name: string;
  /** Rejects with "already has a host" when the name is taken. */
  addHost(name: string): Promise<NetnsLabHost>;
  removeHost(name: string): Promise<void>;
  /** Every host of the lab, also those other processes added. */
  hosts(): NetnsLabHost[];
}

/** A lab host: a network namespace with its own /etc, reachable at `address`. */
export interface NetnsLabHost {
  readonly name: string;
  readonly address: string;
  writeFile(path: string, content: string, mode?: number): Promise<void>;
  readFile(path: string): Promise<string>;
  startSshd(options: {
    authorizedKeysForRoot: string[];
    /** The host keys sshd has; the ed25519 one is returned. */
    hostKeyTypes?: readonly "ed25519"[];
  }): Promise<{ port: number; hostPublicKey: string }>;
}

/** Attaches to the live lab of that name; rejects when there is none. */
export type OpenNetnsLab = (name: string) => Promise<NetnsLab>;

export interface NetnsProviderOptions {
  lab?: string;
  privateKeyPath: string;
  publicKey: string;
  open: OpenNetnsLab;
}

export class NetnsProvider implements TunnelServerProvider {
  readonly name = "netns" as const;
  constructor(private readonly options: NetnsProviderOptions) {}

  private async lab(name = this.options.lab): Promise<NetnsLab> {
    if (!name) {
      throw new CliError(
        "provider netns needs a running lab: pass --lab NAME (or set SUPPORT_LAB, or netns.lab in the config)",
        ExitCode.Usage,
      );
    }
    try {
      return await this.options.open(name);
    } catch (err) {
      if (err instanceof CliError) throw err;
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
    let host: NetnsLabHost;
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
      request.onProgress?.("starting sshd");
      // Only the ed25519 host key, the one create pins: an RSA key takes a second
      // or more to make on a small busy machine, and nothing here would use it.
      const [, sshd] = await Promise.all([
        host.writeFile(TUNNEL_ID_FILE, request.tunnelId + "\n", 0o644),
        host.startSshd({
          authorizedKeysForRoot: [this.options.publicKey],
          hostKeyTypes: ["ed25519"],
        }),
      ]);
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
    let lab: NetnsLab;
    try {
      lab = await this.options.open(labName);
    } catch {
      return; // the lab is gone, and its hosts with it
    }
    if (lab.hosts().some((h) => h.name === host)) await lab.removeHost(host);
  }

  async list(): Promise<{ instanceId: string; tunnelId: TunnelId }[]> {
    if (!this.options.lab) return [];
    let lab: NetnsLab;
    try {
      lab = await this.options.open(this.options.lab);
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
