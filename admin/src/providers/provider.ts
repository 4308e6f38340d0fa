// The one small interface every way of obtaining a tunnel server implements.
// A provider only makes and removes machines (or namespaces); configuring
// WireGuard and the egress key on them is the same for all and happens over SSH.
import type { ProviderName, TunnelId } from "@support-tunnel/common";

/** How the engineer's CLI reaches a server it was handed, over SSH. */
export interface ServerSshAccess {
  host: string;
  port: number;
  username: string;
  /** Path of the private key the CLI uses (the engineer's own identity). */
  privateKeyPath: string;
  /** Extra `ssh` options, e.g. a jump through a namespace (`-o ProxyCommand=...`). Argument array. */
  sshArgs?: string[];
  /** Pinned host key line (`ssh-ed25519 AAAA...`) when the provider knows it. */
  hostKey?: string;
}

export interface TunnelServer {
  /** Stable id of what the provider made: VM name, namespace name, `host:interface`. */
  instanceId: string;
  provider: ProviderName;
  /** Address the device sends WireGuard packets to. */
  publicIp: string;
  /** UDP port WireGuard listens on there. */
  wgPort: number;
  /** Interface name to create on the server for this tunnel. */
  interfaceName: string;
  ssh: ServerSshAccess;
}

export interface ObtainServerRequest {
  tunnelId: TunnelId;
  /** When the tunnel expires: a cloud server is set to die by itself then. */
  expiresAt: Date;
  /** Progress lines for slow steps (a VM boot). */
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

export interface TunnelServerProvider {
  readonly name: ProviderName;
  /**
   * Fast check, before anything is made, that the provider can work at all (CLI
   * present, credentials, config). Throws an error naming what is missing.
   */
  preflight(): Promise<void>;
  /** Makes (or allocates on an existing host) a server for one tunnel. */
  obtain(request: ObtainServerRequest): Promise<TunnelServer>;
  /** Removes what `obtain` made for this tunnel and nothing else. Idempotent. */
  destroy(server: Pick<TunnelServer, "instanceId"> & { tunnelId: TunnelId }): Promise<void>;
  /** Servers this provider knows of, with the tunnel each belongs to. */
  list(): Promise<{ instanceId: string; tunnelId: TunnelId }[]>;
}
