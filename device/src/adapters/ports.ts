// The narrow interfaces around every side effect the device logic has. The
// logic takes them in; specs pass fakes; the real ones live beside this file.
import type {
  ApprovalRefusalKind,
  CreateTunnelRequest,
  CreateTunnelResponse,
  DeviceTunnelView,
  TunnelState,
} from "@support-tunnel/common";
import type { TunnelRecord } from "../record";
import type { JournalEvent, ParsedJournal } from "../session-record/journal";

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The device's half of the api: what SupportApiClient offers a device token. */
export interface DeviceApi {
  createTunnel(body: CreateTunnelRequest, enrollmentSecret?: string): Promise<CreateTunnelResponse>;
  getDeviceTunnel(opts?: {
    waitSeconds?: number;
    since?: TunnelState;
    signal?: AbortSignal;
  }): Promise<DeviceTunnelView>;
  reportConnected(supportUser: string): Promise<DeviceTunnelView>;
  reportRefusal(kind: ApprovalRefusalKind): Promise<DeviceTunnelView>;
  stopDeviceTunnel(reason?: string): Promise<DeviceTunnelView>;
}

/** An api client for `apiUrl`, authenticated with the tunnel's device token when given. */
export type DeviceApiFactory = (apiUrl: string, token?: string) => DeviceApi;

export interface WireGuard {
  /** Up from the wg-quick config at `configPath`, as `wg-quick up` would; the interface is named after the file. */
  up(configPath: string): Promise<void>;
  /** `wg-quick down <configPath>`. */
  down(configPath: string): Promise<void>;
  /** `ip link del`: for an interface whose config is gone. Missing is fine. */
  deleteInterface(name: string): Promise<void>;
  /** Names of the network interfaces present. */
  interfaces(): Promise<string[]>;
  /** When the interface's peer last completed a handshake (ms since the epoch); null for never. */
  latestHandshake(name: string): Promise<number | null>;
}

/** The tunnel's packet filter on its WireGuard interface (nftables): one table per tunnel. */
export interface Firewall {
  /** Creates the table, or replaces it whole (atomically) when it exists. */
  apply(table: string, ruleset: string): Promise<void>;
  /** Removes the table; missing is fine. */
  remove(table: string): Promise<void>;
  /** Names of the `inet` tables present. */
  tables(): Promise<string[]>;
}

/** The session record: each tunnel's journal and its sessions' I/O logs, kept after it ends. */
export interface Journal {
  /** Appends one event to its tunnel's journal (creating the root-only log dir). */
  append(event: JournalEvent): Promise<void>;
  /** A tunnel's events in time order; null when this device has no record of it. */
  read(tunnelId: string): Promise<ParsedJournal | null>;
  /** The engineer the tunnel's last approval names; null when none does (approvedEngineerOf). */
  approvedEngineer(tunnelId: string): Promise<string | null>;
  /** Ids of the tunnels with a journal. */
  tunnels(): Promise<string[]>;
  /** Where a session's sudo I/O log is; null when there is none. */
  iologDir(tunnelId: string, session: string, recorded: string | null): Promise<string | null>;
  /** Removes the records last written before `cutoffMs`, except those in `keep`; returns their tunnel ids. */
  prune(cutoffMs: number, keep: ReadonlySet<string>): Promise<string[]>;
}

export interface Users {
  exists(name: string): Promise<boolean>;
  /** A fresh user with its own group and home, that no password can log into; `comment` is its passwd comment. */
  create(name: string, comment: string): Promise<void>;
  /** Writes `/etc/sudoers.d/<name>` with these rules, checked with visudo before it is moved in place. */
  grantSudo(name: string, sudoers: string): Promise<void>;
  /**
   * Writes `~/.ssh/authorized_keys` with exactly this line, owned by root (0644 in a
   * root-owned 0755 `~/.ssh`): the account cannot lift the restrictions it carries.
   */
  authorize(name: string, authorizedKeysLine: string): Promise<void>;
  /** Kills the user's processes, deletes user, home and sudoers file. Missing pieces are fine. */
  remove(name: string): Promise<void>;
  /** `support<hex>` names that have a passwd entry or a sudoers file. */
  listSupportUsers(): Promise<string[]>;
}

export interface HookRunner {
  /** Runs argv (no shell) with a time limit; throws on failure or timeout. */
  run(argv: readonly string[], timeoutMs: number): Promise<void>;
}

export interface LocalNetwork {
  /** IPv4 routes and addresses of this machine, as CIDRs or addresses: what a subnet must avoid. */
  usedCidrs(): Promise<string[]>;
  hostname(): string;
}

/** Where tunnels are remembered. */
export interface StateStore {
  list(): Promise<TunnelRecord[]>;
  read(id: string): Promise<TunnelRecord | null>;
  write(record: TunnelRecord): Promise<void>;
  remove(id: string): Promise<void>;
  /** Waits for the per-tunnel lock and returns its release. */
  lock(id: string): Promise<() => Promise<void>>;
  wgConfigPath(iface: string): string;
  writeWgConfig(iface: string, text: string): Promise<string>;
  removeWgConfig(iface: string): Promise<void>;
  hasWgConfig(iface: string): Promise<boolean>;
  /** Interface names of every wg config file present. */
  listWgConfigs(): Promise<string[]>;
  /** This device's stable identity: made once, kept in the state, sent with each api request. */
  deviceId(): Promise<string>;
  /**
   * Calls `onChange` with a tunnel's id whenever its record is written or
   * removed, by this process or another (`request`, `stop`, the consent page);
   * with null when it cannot tell which. `onError` when watching fails. Returns
   * the way to stop watching.
   */
  watch(
    onChange: (tunnelId: string | null) => void,
    onError: (err: Error) => void,
  ): Promise<() => void>;
}
