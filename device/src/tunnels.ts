// The device's rules for one tunnel's life: request, verify and connect, stop,
// recover after a crash, collect garbage. Every side effect goes through the
// adapters in `DeviceDeps`, so the rules run unchanged against fakes in specs.
import {
  allocateSubnet,
  ApiError,
  ApiUnreachableError,
  ApprovalError,
  generateKeyPair,
  generatePresharedKey,
  hostnameSchema,
  interfaceName,
  isTerminal,
  openApproval,
  deviceWgConfig,
  renderWgQuickConfig,
  tunnelAddresses,
  TunnelState,
  type DeviceTunnelView,
  type RandomBytes,
} from "@support-tunnel/common";
import type {
  Clock,
  DeviceApiFactory,
  HookRunner,
  LocalNetwork,
  StateStore,
  Users,
  WireGuard,
} from "./adapters/ports";
import type { DeviceSettings, HookName } from "./config";
import { ApprovalRefusedError, DeviceError, NotReadyError, UsageError } from "./errors";
import { HOOK_LABELS, renderHook, type HookVariables } from "./hooks";
import { isExpired, type TunnelRecord } from "./record";

export interface DeviceDeps {
  settings: DeviceSettings;
  clock: Clock;
  random: RandomBytes;
  api: DeviceApiFactory;
  wg: WireGuard;
  users: Users;
  hooks: HookRunner;
  network: LocalNetwork;
  store: StateStore;
  /** Human chatter (stderr). */
  log: (message: string) => void;
}

export interface RequestOptions {
  description?: string;
  ttlSeconds?: number;
}

export interface ConnectResult {
  tunnelId: string;
  supportUser: string;
  interface: string;
  address: string;
  serverAddress: string;
  expiresAt: string;
  /** True when it was already up and nothing had to be done. */
  alreadyUp: boolean;
}

export type StopCause = "device" | "expiry" | "ended";

export interface StopResult {
  tunnelId: string;
  /** False when there was no local record: nothing left to do. */
  found: boolean;
  /** False when the api could not be told (it will learn at expiry or from the engineer). */
  apiTold: boolean;
}

const LIVE_APPROVED = new Set<TunnelState>([
  TunnelState.Started,
  TunnelState.Running,
  TunnelState.Connected,
]);

export function isApproved(state: TunnelState): boolean {
  return LIVE_APPROVED.has(state);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function authorizedKeysLine(serverAddress: string, sshPublicKey: string): string {
  // from= pins the key to the server's tunnel address; the rest keeps the session a plain shell.
  return `from="${serverAddress}",no-agent-forwarding,no-X11-forwarding,no-port-forwarding,no-user-rc ${sshPublicKey}`;
}

export class TunnelService {
  constructor(private readonly deps: DeviceDeps) {}

  private apiFor(record: TunnelRecord) {
    return this.deps.api(record.apiUrl, record.deviceToken);
  }

  async withLock<T>(id: string, work: () => Promise<T>): Promise<T> {
    const release = await this.deps.store.lock(id);
    try {
      return await work();
    } finally {
      await release();
    }
  }

  async mustRead(id: string): Promise<TunnelRecord> {
    const record = await this.deps.store.read(id);
    if (!record) throw new DeviceError(`no tunnel ${id} on this device`);
    return record;
  }

  // ---- request -------------------------------------------------------------

  async request(options: RequestOptions = {}): Promise<TunnelRecord> {
    const { settings, store, network, random, clock } = this.deps;
    if (!settings.apiUrl)
      throw new UsageError(
        "no api url: pass --api, set SUPPORT_API_URL or apiUrl in the config file",
      );
    const others = await store.list();
    const avoid = [...(await network.usedCidrs()), ...others.map((r) => r.network)];
    const subnet = allocateSubnet({
      avoid,
      randomInt: (max) => {
        const n = Buffer.from(random(4)).readUInt32BE(0);
        return n % max;
      },
    });
    const keys = generateKeyPair(random);
    const psk = generatePresharedKey(random);
    const host = network.hostname();
    const description = options.description ?? settings.description;
    const ttlSeconds = options.ttlSeconds ?? settings.ttlSeconds;
    const created = await this.deps.api(settings.apiUrl).createTunnel(
      {
        deviceWgPublicKey: keys.publicKey,
        network: subnet,
        ...(hostnameSchema.safeParse(host).success ? { hostname: host } : {}),
        ...(description ? { description } : {}),
        ...(ttlSeconds ? { ttlSeconds } : {}),
      },
      settings.enrollmentSecret,
    );
    const record: TunnelRecord = {
      version: 1,
      tunnelId: created.tunnelId,
      apiUrl: settings.apiUrl,
      deviceToken: created.token,
      privateKey: keys.privateKey,
      presharedKey: psk,
      network: subnet,
      interface: interfaceName(created.tunnelId, "device"),
      supportUser: `support${hex(random(4))}`,
      createdAt: new Date(clock.now()).toISOString(),
      expiresAt: created.expiresAt,
      phase: "requested",
      server: null,
    };
    await store.write(record);
    return record;
  }

  // ---- connect -------------------------------------------------------------

  /** Verifies the approval and brings the tunnel up; either it ends up fully up, or nothing is left. */
  async connect(id: string): Promise<ConnectResult> {
    return this.withLock(id, async () => {
      const record = await this.mustRead(id);
      if (isExpired(record, this.deps.clock.now())) {
        await this.stopLocked(record, "expiry", "expired on the device");
        throw new NotReadyError(`tunnel ${id} has expired; it was removed from this device`);
      }
      const view = await this.apiFor(record).getDeviceTunnel();
      if (isTerminal(view.state)) {
        await this.stopLocked(record, "ended", undefined);
        throw new NotReadyError(
          `tunnel ${id} has ended (${view.state}${view.stopReason ? `: ${view.stopReason}` : ""}); it was removed from this device`,
        );
      }
      if (!isApproved(view.state) || !view.server) {
        throw new NotReadyError(`tunnel ${id} is not approved yet (state ${view.state})`);
      }
      if (record.phase === "up" && (await this.deps.wg.interfaces()).includes(record.interface)) {
        if (view.state === TunnelState.Started) await this.reportConnected(record);
        return this.result(record, true);
      }
      const leftovers =
        (await this.deps.wg.interfaces()).includes(record.interface) ||
        (await this.deps.users.exists(record.supportUser));
      if (record.phase !== "requested" || leftovers) {
        // Left half done (a crash) or up without its interface (a reboot): start from a clean slate.
        await this.teardown(record);
        const clean: TunnelRecord = { ...record, phase: "requested" };
        await this.deps.store.write(clean);
        return this.bringUp(clean, view);
      }
      return this.bringUp(record, view);
    });
  }

  private async bringUp(record: TunnelRecord, view: DeviceTunnelView): Promise<ConnectResult> {
    const { clock, store, wg, users, log } = this.deps;
    const server = view.server!;
    let payload;
    try {
      // Fail closed: the box proves the server key, the MAC proves the PSK. The
      // api's own view (publicIp, port) is never used to decide where to connect.
      payload = openApproval({
        sealed: server.approval,
        serverPublicKey: server.wgPublicKey,
        devicePrivateKey: record.privateKey,
        psk: record.presharedKey,
        tunnelId: record.tunnelId,
      });
    } catch (err) {
      if (err instanceof ApprovalError) {
        throw new ApprovalRefusedError(
          `refusing the approval of tunnel ${record.tunnelId}: ${err.message}; nothing was set up`,
        );
      }
      throw err;
    }
    const expiresAt = [record.expiresAt, view.expiresAt, payload.expiresAt].reduce((a, b) =>
      Date.parse(a) <= Date.parse(b) ? a : b,
    );
    if (Date.parse(expiresAt) <= clock.now()) {
      // Remembered, so the agent's expiry check ends the tunnel instead of retrying it.
      await store.write({ ...record, expiresAt });
      throw new NotReadyError(`tunnel ${record.tunnelId}'s approval has expired (${expiresAt})`);
    }
    // The journal entry comes first: from here on a crash leaves `connecting`, which the agent tears down.
    const connecting: TunnelRecord = {
      ...record,
      expiresAt,
      phase: "connecting",
      server: {
        publicKey: payload.serverWgPublicKey,
        endpoint: payload.endpoint,
        wgPort: payload.wgPort,
        sshPublicKey: payload.sshPublicKey,
      },
    };
    await store.write(connecting);
    const addrs = tunnelAddresses(record.network);
    try {
      await this.runHooks("preUp", connecting, true);
      const text = renderWgQuickConfig(
        deviceWgConfig({
          devicePrivateKey: record.privateKey,
          psk: record.presharedKey,
          network: record.network,
          serverPublicKey: payload.serverWgPublicKey,
          endpoint: payload.endpoint,
          wgPort: payload.wgPort,
        }),
      );
      const configPath = await store.writeWgConfig(record.interface, text);
      await wg.up(configPath);
      await users.create(record.supportUser, `support-tunnel ${record.tunnelId}`);
      await users.grantSudo(record.supportUser);
      await users.authorize(
        record.supportUser,
        authorizedKeysLine(addrs.server, payload.sshPublicKey),
      );
      await this.runHooks("postUp", connecting, true);
    } catch (err) {
      log(`connecting tunnel ${record.tunnelId} failed: ${(err as Error).message}; undoing`);
      try {
        await this.teardown(connecting);
        await store.write({ ...connecting, phase: "requested" });
      } catch (undoErr) {
        // The record stays `connecting`: the next connect or the agent's recovery finishes the cleanup.
        log(`undoing tunnel ${record.tunnelId} failed: ${(undoErr as Error).message}`);
      }
      throw err;
    }
    const up: TunnelRecord = { ...connecting, phase: "up" };
    await store.write(up);
    await this.reportConnected(up);
    return this.result(up, false);
  }

  /** Tells the api the tunnel is up; the tunnel stays up even if the api can't be told now. */
  async reportConnected(record: TunnelRecord): Promise<boolean> {
    try {
      await this.apiFor(record).reportConnected(record.supportUser);
      return true;
    } catch (err) {
      this.deps.log(
        `could not report tunnel ${record.tunnelId} as connected: ${(err as Error).message}`,
      );
      return false;
    }
  }

  private result(record: TunnelRecord, alreadyUp: boolean): ConnectResult {
    const addrs = tunnelAddresses(record.network);
    return {
      tunnelId: record.tunnelId,
      supportUser: record.supportUser,
      interface: record.interface,
      address: addrs.device,
      serverAddress: addrs.server,
      expiresAt: record.expiresAt,
      alreadyUp,
    };
  }

  // ---- stop ----------------------------------------------------------------

  async stop(id: string, cause: StopCause = "device", reason?: string): Promise<StopResult> {
    return this.withLock(id, async () => {
      const record = await this.deps.store.read(id);
      if (!record) return { tunnelId: id, found: false, apiTold: false };
      return this.stopLocked(record, cause, reason);
    });
  }

  private async stopLocked(
    record: TunnelRecord,
    cause: StopCause,
    reason?: string,
  ): Promise<StopResult> {
    const stopping: TunnelRecord = { ...record, phase: "stopping" };
    if (record.phase !== "stopping") await this.deps.store.write(stopping);
    await this.teardown(record);
    let apiTold = cause === "ended";
    if (cause !== "ended") {
      try {
        await this.apiFor(record).stopDeviceTunnel(
          reason ?? (cause === "expiry" ? "expired on the device" : "stopped on the device"),
        );
        apiTold = true;
      } catch (err) {
        // Local teardown already happened: an unreachable api or a tunnel it already ended changes nothing here.
        if (
          err instanceof ApiError &&
          (err.status === 409 || err.status === 404 || err.status === 401 || err.status === 410)
        ) {
          apiTold = true;
        } else if (err instanceof ApiError || err instanceof ApiUnreachableError) {
          this.deps.log(
            `could not tell the api that tunnel ${record.tunnelId} stopped: ${err.message}`,
          );
        } else {
          throw err;
        }
      }
    }
    await this.deps.store.remove(record.tunnelId);
    return { tunnelId: record.tunnelId, found: true, apiTold };
  }

  /** Removes everything the tunnel may have created. Idempotent; each step tolerates a missing piece. */
  private async teardown(record: TunnelRecord): Promise<void> {
    const { wg, users, store, log } = this.deps;
    const created = record.phase !== "requested";
    if (created) await this.runHooks("preDown", record, false);
    const failures: string[] = [];
    const step = async (what: string, work: () => Promise<void>) => {
      try {
        await work();
      } catch (err) {
        failures.push(`${what}: ${(err as Error).message}`);
      }
    };
    await step("wireguard", async () => {
      if (await store.hasWgConfig(record.interface)) {
        try {
          await wg.down(store.wgConfigPath(record.interface));
        } catch (err) {
          log(`wg-quick down ${record.interface}: ${(err as Error).message}`);
        }
      }
      if ((await wg.interfaces()).includes(record.interface))
        await wg.deleteInterface(record.interface);
      await store.removeWgConfig(record.interface);
    });
    await step("user", () => users.remove(record.supportUser));
    if (created) await this.runHooks("postDown", record, false);
    if (failures.length) {
      throw new DeviceError(
        `could not fully remove tunnel ${record.tunnelId}: ${failures.join("; ")}`,
      );
    }
  }

  private async runHooks(name: HookName, record: TunnelRecord, failHard: boolean): Promise<void> {
    const argv = this.deps.settings.hooks[name];
    if (!argv) return;
    const addrs = tunnelAddresses(record.network);
    const vars: HookVariables = {
      id: record.tunnelId,
      interface: record.interface,
      address: addrs.device,
      subnet: addrs.network,
      user: record.supportUser,
    };
    try {
      await this.deps.hooks.run(renderHook(argv, vars), this.deps.settings.hookTimeoutMs);
    } catch (err) {
      const message = `${HOOK_LABELS[name]} hook failed: ${(err as Error).message}`;
      // A failing up hook aborts the connect; a failing down hook must not keep a tunnel alive.
      if (failHard) throw new DeviceError(message);
      this.deps.log(message);
    }
  }

  // ---- recovery --------------------------------------------------------------

  /**
   * Puts one tunnel back into a clean phase after a crash or reboot:
   * connecting → torn down to `requested` (the agent reconnects it if still approved);
   * stopping → the stop is finished; up but expired → stopped; up without its
   * interface → torn down to `requested`.
   */
  async recover(id: string): Promise<void> {
    await this.withLock(id, async () => {
      const record = await this.deps.store.read(id);
      if (!record) return;
      const now = this.deps.clock.now();
      if (record.phase === "stopping" || (record.phase !== "requested" && isExpired(record, now))) {
        this.deps.log(`finishing the stop of tunnel ${id}`);
        await this.stopLocked(record, isExpired(record, now) ? "expiry" : "device");
        return;
      }
      const interfaceUp = (await this.deps.wg.interfaces()).includes(record.interface);
      const userPresent = await this.deps.users.exists(record.supportUser);
      if (
        record.phase === "connecting" ||
        (record.phase === "up" && (!interfaceUp || !userPresent))
      ) {
        this.deps.log(`cleaning up the half-done tunnel ${id}`);
        await this.teardown(record);
        await this.deps.store.write({ ...record, phase: "requested" });
      }
    });
  }

  // ---- status and gc ---------------------------------------------------------

  async status(id: string): Promise<TunnelStatus> {
    const record = await this.mustRead(id);
    let apiState: TunnelState | null = null;
    let apiError: string | null = null;
    try {
      apiState = (await this.apiFor(record).getDeviceTunnel()).state;
    } catch (err) {
      apiError = (err as Error).message;
    }
    const addrs = tunnelAddresses(record.network);
    return {
      tunnelId: record.tunnelId,
      phase: record.phase,
      apiState,
      apiError,
      interface: record.interface,
      interfaceUp: (await this.deps.wg.interfaces()).includes(record.interface),
      supportUser: record.supportUser,
      userPresent: await this.deps.users.exists(record.supportUser),
      network: record.network,
      address: addrs.device,
      serverAddress: addrs.server,
      endpoint: record.server ? `${record.server.endpoint}:${record.server.wgPort}` : null,
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      expired: isExpired(record, this.deps.clock.now()),
    };
  }

  /** Ends tunnels that expired or ended on the api, then removes what no record owns. */
  async gc(): Promise<GcResult> {
    const { store, wg, users, clock } = this.deps;
    // Resources are listed BEFORE the records: a tunnel's record is always written
    // before its interface or user exists, so nothing being set up right now looks orphaned.
    const interfaces = (await wg.interfaces()).filter((name) => /^std[0-9a-f]{12}$/.test(name));
    const configs = await store.listWgConfigs();
    const supportUsers = await users.listSupportUsers();
    const records = await store.list();
    const stopped: string[] = [];
    for (const record of records) {
      let cause: StopCause | null = isExpired(record, clock.now()) ? "expiry" : null;
      if (!cause) {
        try {
          const view = await this.apiFor(record).getDeviceTunnel();
          if (isTerminal(view.state)) cause = "ended";
        } catch (err) {
          this.deps.log(`tunnel ${record.tunnelId}: api not asked (${(err as Error).message})`);
        }
      }
      if (cause) {
        await this.stop(record.tunnelId, cause);
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
    return { stopped, removedInterfaces, removedUsers };
  }
}

export interface TunnelStatus {
  tunnelId: string;
  phase: TunnelRecord["phase"];
  apiState: TunnelState | null;
  apiError: string | null;
  interface: string;
  interfaceUp: boolean;
  supportUser: string;
  userPresent: boolean;
  network: string;
  address: string;
  serverAddress: string;
  endpoint: string | null;
  createdAt: string;
  expiresAt: string;
  expired: boolean;
}

export interface GcResult {
  stopped: string[];
  removedInterfaces: string[];
  removedUsers: string[];
}
