// The device's upkeep of its tunnels: putting one back in order after a crash or
// reboot, reporting on one, and collecting what expired, ended or is owned by no
// record. It changes tunnels only through the lifecycle, under the tunnel's lock.
import type { DeviceTunnelView, TunnelState } from "@support-tunnel/common";
import { isTerminal } from "@support-tunnel/common/dist/state";
import { tunnelAddresses } from "@support-tunnel/common/dist/wireguard";
import type {
  Clock,
  DeviceApiFactory,
  Journal,
  StateStore,
  Users,
  WireGuard,
  Firewall,
} from "./adapters/ports";
import { interfaceOfFirewallTable } from "./tunnel-firewall";
import { effectiveExpiry, isExpired, requireRecord, type TunnelRecord } from "./record";
import type { StopCause, TunnelLifecycle } from "./tunnel-lifecycle";

export interface TunnelUpkeepDeps {
  lifecycle: TunnelLifecycle;
  clock: Clock;
  api: DeviceApiFactory;
  wg: WireGuard;
  firewall: Firewall;
  users: Users;
  store: StateStore;
  journal: Journal;
  /** Records (journals, I/O logs) last written longer ago than this are removed. */
  sessionRetentionDays: number;
  /** Human chatter (stderr). */
  log: (message: string) => void;
}

export interface TunnelStatus {
  tunnelId: string;
  phase: TunnelRecord["phase"];
  apiState: TunnelState | null;
  apiError: string | null;
  /**
   * Why a tunnel that is up on this device carries nothing: its interface is gone,
   * or the tunnel server has not completed a WireGuard handshake lately. Null when
   * the link is fine, or the tunnel is not meant to be up.
   */
  linkDown: string | null;
  /** When the tunnel server last completed a WireGuard handshake; null for never. */
  latestHandshakeAt: string | null;
  interface: string;
  interfaceUp: boolean;
  supportUser: string;
  userPresent: boolean;
  network: string;
  address: string;
  serverAddress: string;
  endpoint: string | null;
  createdAt: string;
  /** When the tunnel ends on this device: the earliest of the grant, the api's and the approval's. */
  expiresAt: string;
  /** What the customer granted, by this device's clock; expiresAt is never later. */
  grantedUntil: string;
  expired: boolean;
  /** The customer's choices, from this device's record. */
  ticket: string | null;
  notBefore: string | null;
  allowedEngineers: string[] | null;
  /** Device ports support may forward, besides SSH. */
  allowedPorts: number[];
  /** Who approved, and for which ticket, from the verified approval; null before. */
  approval: TunnelRecord["approval"];
}

export interface GcResult {
  stopped: string[];
  removedInterfaces: string[];
  removedUsers: string[];
  /** Tunnels whose record (journal and I/O logs) was past the retention and removed. */
  prunedRecords: string[];
}

/**
 * With a persistent keepalive, WireGuard renews its session at least every two
 * minutes while the peer answers, and drops one older than three (REJECT_AFTER_TIME):
 * a latest handshake older than that means the tunnel server is not answering.
 */
const HANDSHAKE_STALE_MS = 180_000;

function linkDown(
  record: TunnelRecord,
  interfaceUp: boolean,
  handshakeAt: number | null,
  now: number,
): string | null {
  if (!interfaceUp)
    return `its interface ${record.interface} is gone (wireguard-go ended); the agent brings it back, or run \`support-device connect ${record.tunnelId}\``;
  if (handshakeAt === null) return "no WireGuard handshake with the tunnel server yet";
  if (now - handshakeAt > HANDSHAKE_STALE_MS)
    return `no WireGuard handshake with the tunnel server for ${Math.round((now - handshakeAt) / 1000)} s: it does not answer`;
  return null;
}

export class TunnelUpkeep {
  constructor(private readonly deps: TunnelUpkeepDeps) {}

  private apiFor(record: TunnelRecord) {
    return this.deps.api(record.apiUrl, record.deviceToken);
  }

  /**
   * Puts one tunnel back into a clean phase after a crash or reboot:
   * connecting → torn down to `requested` (the agent reconnects it if still approved);
   * stopping → the stop is finished; up but expired → stopped; up without its
   * interface → torn down to `requested`.
   */
  async recover(id: string): Promise<void> {
    const { lifecycle, store, clock, wg, users, log } = this.deps;
    await lifecycle.withLock(id, async () => {
      const record = await store.read(id);
      if (!record) return;
      const now = clock.now();
      if (record.phase === "stopping" || (record.phase !== "requested" && isExpired(record, now))) {
        log(`finishing the stop of tunnel ${id}`);
        await lifecycle.stopLocked(record, isExpired(record, now) ? "expiry" : "device");
        return;
      }
      const interfaceUp = (await wg.interfaces()).includes(record.interface);
      const userPresent = await users.exists(record.supportUser);
      if (
        record.phase === "connecting" ||
        (record.phase === "up" && (!interfaceUp || !userPresent))
      ) {
        log(`cleaning up the half-done tunnel ${id}`);
        await lifecycle.resetLocked(record);
      }
    });
  }

  /**
   * Brings back a tunnel that is up on paper but whose interface died (its
   * wireguard-go killed, `ip link del`): `wg-quick up` again from its config, so
   * the support user, its address and any connection that can still resume are
   * kept, and no hook runs (the tunnel never ended). When that fails, the tunnel
   * is taken back to `requested`, clean, and connected afresh from its approval
   * if it is still approved.
   */
  async restoreLink(id: string): Promise<"restored" | "reset" | "intact"> {
    const { lifecycle, store, wg, clock, log } = this.deps;
    return lifecycle.withLock(id, async () => {
      const record = await store.read(id);
      if (!record || record.phase !== "up" || isExpired(record, clock.now())) return "intact";
      if ((await wg.interfaces()).includes(record.interface)) return "intact";
      try {
        if (!(await store.hasWgConfig(record.interface)))
          throw new Error(`its WireGuard config is gone`);
        await wg.up(store.wgConfigPath(record.interface));
        // After a reboot or a flushed ruleset the table is gone too: it comes back with the link.
        await lifecycle.applyFirewall(record);
        return "restored";
      } catch (err) {
        log(
          `tunnel ${id}: could not bring back ${record.interface} (${(err as Error).message}); removing what is left, to connect it again from its approval`,
        );
        await lifecycle.resetLocked(record);
        return "reset";
      }
    });
  }

  async status(id: string): Promise<TunnelStatus> {
    const { wg, clock } = this.deps;
    const record = await requireRecord(this.deps.store, id);
    let apiState: TunnelState | null = null;
    let apiError: string | null = null;
    try {
      apiState = (await this.apiFor(record).getDeviceTunnel()).state;
    } catch (err) {
      apiError = (err as Error).message;
    }
    const addrs = tunnelAddresses(record.network);
    const interfaceUp = (await wg.interfaces()).includes(record.interface);
    const handshakeAt = interfaceUp
      ? await wg.latestHandshake(record.interface).catch(() => null)
      : null;
    return {
      tunnelId: record.tunnelId,
      phase: record.phase,
      apiState,
      apiError,
      linkDown:
        record.phase === "up" ? linkDown(record, interfaceUp, handshakeAt, clock.now()) : null,
      latestHandshakeAt: handshakeAt === null ? null : new Date(handshakeAt).toISOString(),
      interface: record.interface,
      interfaceUp,
      supportUser: record.supportUser,
      userPresent: await this.deps.users.exists(record.supportUser),
      network: record.network,
      address: addrs.device,
      serverAddress: addrs.server,
      endpoint: record.server ? `${record.server.endpoint}:${record.server.wgPort}` : null,
      createdAt: record.createdAt,
      expiresAt: effectiveExpiry(record),
      grantedUntil: record.grantedUntil,
      expired: isExpired(record, this.deps.clock.now()),
      ticket: record.ticket,
      notBefore: record.notBefore,
      allowedEngineers: record.allowedEngineers,
      allowedPorts: record.allowedPorts,
      approval: record.approval,
    };
  }

  /** Ends tunnels that expired or ended on the api, then removes what no record owns. */
  async gc(): Promise<GcResult> {
    const { lifecycle, store, wg, users, clock, log } = this.deps;
    // Resources are listed BEFORE the records: a tunnel's record is always written
    // before its interface or user exists, so nothing being set up right now looks orphaned.
    const interfaces = (await wg.interfaces()).filter((name) => /^std[0-9a-f]{12}$/.test(name));
    const configs = await store.listWgConfigs();
    const supportUsers = await users.listSupportUsers();
    const tables = await this.deps.firewall.tables();
    const records = await store.list();
    const stopped: string[] = [];
    for (const record of records) {
      let cause: StopCause | null = isExpired(record, clock.now()) ? "expiry" : null;
      let ended: DeviceTunnelView | undefined;
      if (!cause) {
        try {
          const view = await this.apiFor(record).getDeviceTunnel();
          if (isTerminal(view.state)) {
            cause = "ended";
            ended = view;
          }
        } catch (err) {
          log(`tunnel ${record.tunnelId}: api not asked (${(err as Error).message})`);
        }
      }
      if (cause) {
        await lifecycle.stop(
          record.tunnelId,
          cause,
          ended?.stopReason ?? undefined,
          ended?.stoppedBy,
        );
        stopped.push(record.tunnelId);
      }
    }
    const ownedInterfaces = new Set(records.map((r) => r.interface));
    const ownedUsers = new Set(records.map((r) => r.supportUser));
    const removedInterfaces: string[] = [];
    for (const name of new Set([...interfaces, ...configs])) {
      if (ownedInterfaces.has(name)) continue;
      if (interfaces.includes(name)) await wg.deleteInterface(name);
      await store.removeWgConfig(name);
      removedInterfaces.push(name);
    }
    const removedUsers: string[] = [];
    for (const name of supportUsers) {
      if (ownedUsers.has(name)) continue;
      await users.remove(name);
      removedUsers.push(name);
    }
    for (const table of tables) {
      const owner = interfaceOfFirewallTable(table);
      if (owner === null || ownedInterfaces.has(owner)) continue;
      await this.deps.firewall.remove(table);
      removedInterfaces.push(table);
    }
    const prunedRecords = await this.prune();
    return { stopped, removedInterfaces, removedUsers, prunedRecords };
  }

  /**
   * Removes the session record of tunnels last written longer ago than the
   * retention. A tunnel this device still has is kept however old its journal.
   */
  async prune(): Promise<string[]> {
    const { journal, store, clock, sessionRetentionDays } = this.deps;
    const keep = new Set((await store.list()).map((r) => r.tunnelId));
    return journal.prune(clock.now() - sessionRetentionDays * 24 * 3600_000, keep);
  }
}
