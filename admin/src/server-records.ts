// Where each tunnel's server is, kept on the engineer's machine at create time
// (`servers/<tunnelId>.json`, 0600): connect, command, stop and gc need the SSH
// access and the provider, which the api does not (and should not) hold; and
// where the device is behind it (network, address, support user), fixed at
// create time so that a later api answer cannot point the engineer elsewhere.
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import writeFileAtomic from "write-file-atomic";
import { z } from "zod";
import {
  parseWire,
  supportUserSchema,
  tunnelAddresses,
  tunnelIdSchema,
  tunnelNetworkSchema,
  type TunnelId,
} from "@support-tunnel/common";
import type { TunnelServer } from "./providers/provider";

const deviceSchema = z
  .object({
    network: tunnelNetworkSchema,
    address: z.string(),
    supportUser: supportUserSchema.optional(),
    hostKeyAlias: z.string().optional(),
  })
  .refine((d) => {
    try {
      return tunnelAddresses(d.network).device === d.address;
    } catch {
      return false; // a bad network is reported by its own field
    }
  }, "address must be the first host of network");

const recordSchema = z.object({
  tunnelId: z.string().refine((s) => tunnelIdSchema.safeParse(s).success, "must be a tunnel id"),
  createdAt: z.string(),
  knownHostsPath: z.string(),
  server: z.object({
    instanceId: z.string(),
    provider: z.enum(["gcp", "ssh", "netns"]),
    publicIp: z.string(),
    wgPort: z.number().int(),
    interfaceName: z.string(),
    ssh: z.object({
      host: z.string(),
      port: z.number().int(),
      username: z.string(),
      privateKeyPath: z.string(),
      sshArgs: z.array(z.string()).optional(),
      hostKey: z.string().optional(),
    }),
    /** Provider-specific data needed to destroy (e.g. the lab name). */
    extra: z.record(z.string(), z.string()).optional(),
  }),
  /** Absent in records written before devices were recorded: stop and gc still work. */
  device: deviceSchema.optional(),
});

/** The device behind the server, as `support create` saw it. */
export interface DeviceRecord {
  /** The tunnel's network, as WireGuard on the server was configured with it. */
  network: string;
  /** The device's tunnel address: the first host of `network`. */
  address: string;
  /** The account the device made for support, recorded when create saw it connect. */
  supportUser?: string;
  /** The name the device's host key is pinned under on the server, once it is. */
  hostKeyAlias?: string;
}

export interface ServerRecord {
  tunnelId: TunnelId;
  createdAt: string;
  knownHostsPath: string;
  server: TunnelServer;
  device?: DeviceRecord;
}

export interface ServerRecordStore {
  save(record: ServerRecord): Promise<void>;
  load(tunnelId: TunnelId): Promise<ServerRecord | null>;
  remove(tunnelId: TunnelId): Promise<void>;
  all(): Promise<ServerRecord[]>;
  knownHostsPath(tunnelId: TunnelId): string;
}

export class FileServerRecordStore implements ServerRecordStore {
  private readonly dir: string;
  constructor(configDir: string) {
    this.dir = join(configDir, "servers");
  }

  knownHostsPath(tunnelId: TunnelId): string {
    return join(this.dir, `${tunnelId}.known_hosts`);
  }

  async save(record: ServerRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, `${record.tunnelId}.json`);
    await writeFileAtomic(path, JSON.stringify(record, null, 2) + "\n", { mode: 0o600 });
  }

  async load(tunnelId: TunnelId): Promise<ServerRecord | null> {
    let text: string;
    try {
      text = await readFile(join(this.dir, `${tunnelId}.json`), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    return parseWire(recordSchema, JSON.parse(text), `server record ${tunnelId}`) as ServerRecord;
  }

  async remove(tunnelId: TunnelId): Promise<void> {
    await rm(join(this.dir, `${tunnelId}.json`), { force: true });
    await rm(this.knownHostsPath(tunnelId), { force: true });
  }

  async all(): Promise<ServerRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const records: ServerRecord[] = [];
    for (const name of names) {
      const match = /^([0-9a-f-]{36})\.json$/.exec(name);
      if (!match) continue;
      const record = await this.load(match[1] as TunnelId).catch(() => null);
      if (record) records.push(record);
    }
    return records;
  }
}
