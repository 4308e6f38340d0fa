// The device's rules for one tunnel's life: request, verify and connect, stop.
// Every side effect goes through the adapters it is given, so the rules run
// unchanged against fakes in specs; the upkeep (recover, gc, status) builds on it.
// From common's modules, not its index: what loads zod or tweetnacl (the key
// making, the approval, the wire schemas) loads when a request or a connect
// needs it, so an agent that waits carries neither.
import type {
  ApprovalPayload,
  ApprovalRefusalKind,
  DeviceTunnelView,
  RandomBytes,
} from "@support-tunnel/common";
import { ApiError, ApiUnreachableError } from "@support-tunnel/common/dist/client";
import { isTerminal, stateRank, StoppedBy, TunnelState } from "@support-tunnel/common/dist/state";
import {
  allocateSubnet,
  deviceWgConfig,
  interfaceName,
  renderWgQuickConfig,
  tunnelAddresses,
} from "@support-tunnel/common/dist/wireguard";
import type {
  Firewall,
  Clock,
  DeviceApiFactory,
  HookRunner,
  Journal,
  LocalNetwork,
  StateStore,
  Users,
  WireGuard,
} from "./adapters/ports";
import { DEFAULT_TTL_SECONDS, type DeviceSettings, type HookName } from "./config";
import {
  ApprovalRefusedError,
  DeviceError,
  NotReadyError,
  NotYetOpenError,
  UsageError,
} from "./errors";
import { HOOK_LABELS, renderHook, type HookVariables } from "./hooks";
import {
  earliest,
  effectiveExpiry,
  isBeforeStart,
  isExpired,
  requireRecord,
  type TunnelRecord,
} from "./record";
import { authorizedKeysLine, forcedCommand, renderSudoers } from "./session-record/access";
import { firewallTableName, renderFirewallRuleset } from "./tunnel-firewall";
import { stampEvent, type NewJournalEvent, type Stopper } from "./session-record/journal";

/* eslint-disable @typescript-eslint/no-require-imports */
const common = () => require("@support-tunnel/common") as typeof import("@support-tunnel/common");
/* eslint-enable @typescript-eslint/no-require-imports */

export interface TunnelLifecycleDeps {
  settings: DeviceSettings;
  clock: Clock;
  random: RandomBytes;
  api: DeviceApiFactory;
  wg: WireGuard;
  /** The tunnel's nftables table: only SSH and the allowed ports from the server. */
  firewall: Firewall;
  users: Users;
  hooks: HookRunner;
  network: LocalNetwork;
  store: StateStore;
  /** The session record: what happened to each tunnel, kept after it ends. */
  journal: Journal;
  /** Refuses a file that is not root's or that others can write (the session program, its node). */
  assertTrusted: (file: string, what: string) => Promise<void>;
  /** Human chatter (stderr). */
  log: (message: string) => void;
}

export interface TunnelRequestOptions {
  description?: string;
  ttlSeconds?: number;
  /** The support case; every approval must name the same one. */
  ticket?: string;
  /** Access opens no earlier; the grant runs from here for the duration. */
  notBefore?: Date;
  /** Only these engineers may take the tunnel. */
  allowedEngineers?: string[];
  /** Device ports support may forward (besides SSH); validated, sorted. */
  allowedPorts?: number[];
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

/** How far an api's or approval's expiry may pass the device's own deadline before it is worth a warning. */
const CLOCK_SKEW_ALLOWANCE_MS = 60_000;

/** Approved by an engineer and not over: every state from `started` on, until it ends. */
export function isApproved(state: TunnelState): boolean {
  return stateRank(state) >= stateRank(TunnelState.Started) && !isTerminal(state);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** Who ended a tunnel, for the journal: the local cause, or what the api says for one it ended. */
function stopperOf(cause: StopCause, stoppedBy: StoppedBy | null | undefined): Stopper {
  if (cause === "device") return "customer";
  if (cause === "expiry") return "expiry";
  switch (stoppedBy) {
    case StoppedBy.Device:
      return "customer";
    case StoppedBy.Engineer:
      return "engineer";
    case StoppedBy.Expiry:
      return "expiry";
    default:
      return "api";
  }
}

/** Who support is on this machine, for the passwd comment and the sudoers file. */
function supportAccountNote(tunnelId: string, approval: NonNullable<TunnelRecord["approval"]>) {
  return `support-tunnel ${tunnelId} for ${approval.engineer}${approval.ticket ? ` (${approval.ticket})` : ""}`;
}

/**
 * Request, connect and stop. Connect and stop hold the tunnel's lock, so the
 * agent and a manual command never work on one tunnel at once.
 */
export class TunnelLifecycle {
  constructor(private readonly deps: TunnelLifecycleDeps) {}

  private apiFor(record: TunnelRecord) {
    return this.deps.api(record.apiUrl, record.deviceToken);
  }

  /** Appends to the tunnel's journal; throws only when `mustRecord` (nothing may open unrecorded). */
  private async journal(event: NewJournalEvent, mustRecord = false): Promise<void> {
    try {
      await this.deps.journal.append(stampEvent(event, this.deps.clock.now()));
    } catch (err) {
      const message = `could not write the journal of tunnel ${event.tunnelId}: ${(err as Error).message}`;
      if (mustRecord) throw new DeviceError(`${message}; nothing was set up`);
      this.deps.log(message);
    }
  }

  /** Runs `work` holding the tunnel's lock; the `...Locked` methods expect to run inside it. */
  async withLock<T>(id: string, work: () => Promise<T>): Promise<T> {
    const release = await this.deps.store.lock(id);
    try {
      return await work();
    } finally {
      await release();
    }
  }

  // ---- request -------------------------------------------------------------

  async request(options: TunnelRequestOptions = {}): Promise<TunnelRecord> {
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
    const keys = common().generateKeyPair(random);
    const psk = common().generatePresharedKey(random);
    const host = network.hostname();
    const hostname = common().hostnameSchema.safeParse(host).success ? host : undefined;
    const description = options.description ?? settings.description;
    // The api is told the customer's choice, as before; the device keeps its own deadline either way.
    const ttlSeconds = options.ttlSeconds ?? settings.ttlSeconds;
    const notBefore = options.notBefore?.toISOString();
    const allowedPorts = common().allowedPortsSchema.parse(
      [...(options.allowedPorts ?? [])].sort((a, b) => a - b),
    );
    // The api is told the choices so engineers see them and it can refuse early;
    // the device enforces them from the record below, whatever the api does.
    const created = await this.deps.api(settings.apiUrl).createTunnel(
      {
        deviceWgPublicKey: keys.publicKey,
        network: subnet,
        ...(hostname ? { hostname } : {}),
        ...(description ? { description } : {}),
        ...(ttlSeconds ? { ttlSeconds } : {}),
        ...(options.ticket ? { ticket: options.ticket } : {}),
        ...(notBefore ? { notBefore } : {}),
        ...(options.allowedEngineers ? { allowedEngineers: options.allowedEngineers } : {}),
        ...(allowedPorts.length ? { allowedPorts } : {}),
      },
      settings.enrollmentSecret,
    );
    // Counted from the api's answer (or the customer's start), by this device's clock.
    const now = clock.now();
    const opens = Math.max(now, options.notBefore?.getTime() ?? now);
    const grantedUntil = new Date(opens + (ttlSeconds ?? DEFAULT_TTL_SECONDS) * 1000).toISOString();
    const record: TunnelRecord = {
      version: 2,
      tunnelId: created.tunnelId,
      apiUrl: settings.apiUrl,
      deviceToken: created.token,
      privateKey: keys.privateKey,
      presharedKey: psk,
      network: subnet,
      interface: interfaceName(created.tunnelId, "device"),
      supportUser: `support${hex(random(4))}`,
      createdAt: new Date(now).toISOString(),
      expiresAt: this.withinGrant(
        { tunnelId: created.tunnelId, grantedUntil, expiresAt: grantedUntil },
        [["the api", created.expiresAt]],
      ),
      grantedUntil,
      phase: "requested",
      server: null,
      ticket: options.ticket ?? null,
      notBefore: notBefore ?? null,
      allowedEngineers: options.allowedEngineers ?? null,
      allowedPorts,
      approval: null,
    };
    await store.write(record);
    await this.journal({
      type: "requested",
      tunnelId: record.tunnelId,
      supportUser: record.supportUser,
      description: description ?? null,
      hostname: hostname ?? null,
      grantedUntil,
      // The customer's choices, so the timeline says what was granted to whom.
      ticket: record.ticket,
      startsAt: record.notBefore,
      engineers: record.allowedEngineers,
      ports: record.allowedPorts,
    });
    return record;
  }

  // ---- connect -------------------------------------------------------------

  /** Verifies the approval and brings the tunnel up; either it ends up fully up, or nothing is left. */
  async connect(id: string): Promise<ConnectResult> {
    return this.withLock(id, async () => {
      const record = await requireRecord(this.deps.store, id);
      if (isExpired(record, this.deps.clock.now())) {
        await this.stopLocked(record, "expiry", "expired on the device");
        throw new NotReadyError(`tunnel ${id} has expired; it was removed from this device`);
      }
      const view = await this.apiFor(record).getDeviceTunnel();
      if (isTerminal(view.state)) {
        await this.stopLocked(record, "ended", view.stopReason ?? undefined, view.stoppedBy);
        throw new NotReadyError(
          `tunnel ${id} has ended (${view.state}${view.stopReason ? `: ${view.stopReason}` : ""}); it was removed from this device`,
        );
      }
      if (!isApproved(view.state) || !view.server) {
        const opens = isBeforeStart(record, this.deps.clock.now())
          ? `; it opens at ${record.notBefore}`
          : "";
        throw new NotReadyError(`tunnel ${id} is not approved yet (state ${view.state})${opens}`);
      }
      // Up with this very approval; one from another server (the last was withdrawn) starts afresh below.
      if (
        record.phase === "up" &&
        record.server?.publicKey === view.server.wgPublicKey &&
        (await this.deps.wg.interfaces()).includes(record.interface)
      ) {
        if (view.state === TunnelState.Started) await this.reportConnected(record);
        return this.result(record, true);
      }
      const leftovers =
        (await this.deps.wg.interfaces()).includes(record.interface) ||
        (await this.deps.users.exists(record.supportUser));
      // Left half done (a crash) or up without its interface (a reboot): start from a clean slate.
      let clean =
        record.phase !== "requested" || leftovers ? await this.resetLocked(record) : record;
      // It had acted on an approval from another server: that one was withdrawn
      // before this device saw the tunnel pending, and the customer's record says so.
      if (clean.server && clean.server.publicKey !== view.server.wgPublicKey)
        clean = await this.journalWithdrawn(clean);
      // The approval is judged before the start is: a refusal is news the customer
      // should have at once, not when the start comes.
      let payload: ApprovalPayload;
      try {
        payload = await this.verifyAndJournal(clean, view.server);
      } catch (err) {
        if (!(err instanceof ApprovalRefusedError)) throw err;
        // The engineer's `create` is waiting: it learns why at once, and may approve again.
        const told = await this.reportRefusal(clean, err.kind);
        throw new ApprovalRefusedError(err.message, err.kind, told);
      }
      if (isBeforeStart(clean, this.deps.clock.now())) {
        throw new NotYetOpenError(
          `tunnel ${id} opens at ${clean.notBefore}, as the customer chose (--start): approved by ${payload.engineer}, nothing is set up before then`,
          clean.notBefore!,
        );
      }
      return this.bringUp(clean, view, payload);
    });
  }

  /** verifyApproval, with every refusal in the tunnel's journal for the customer to read. */
  private async verifyAndJournal(
    record: TunnelRecord,
    server: NonNullable<DeviceTunnelView["server"]>,
  ): Promise<ApprovalPayload> {
    try {
      return this.verifyApproval(record, server);
    } catch (err) {
      if (err instanceof ApprovalRefusedError) {
        await this.journal({ type: "refused", tunnelId: record.tunnelId, reason: err.message });
      }
      throw err;
    }
  }

  /**
   * Opens the approval and holds it to the customer's choices. Fails closed: the
   * box proves the server key, the MAC proves the PSK, and then the engineer and
   * the ticket it names must be the ones this record allows, whatever the api said.
   */
  private verifyApproval(
    record: TunnelRecord,
    server: NonNullable<DeviceTunnelView["server"]>,
  ): ApprovalPayload {
    const refuse = (why: string, kind: ApprovalRefusalKind) =>
      new ApprovalRefusedError(
        `refusing the approval of tunnel ${record.tunnelId}: ${why}; nothing was set up`,
        kind,
      );
    let payload: ApprovalPayload;
    try {
      // The api's own view (publicIp, port) is never used to decide where to connect.
      payload = common().openApproval({
        sealed: server.approval,
        serverPublicKey: server.wgPublicKey,
        devicePrivateKey: record.privateKey,
        psk: record.presharedKey,
        tunnelId: record.tunnelId,
      });
    } catch (err) {
      if (err instanceof common().ApprovalError) throw refuse(err.message, err.kind);
      throw err;
    }
    if (record.allowedEngineers && !record.allowedEngineers.includes(payload.engineer)) {
      throw refuse(
        `it was approved by ${payload.engineer}, and the customer allowed only ${record.allowedEngineers.join(", ")}`,
        "engineer",
      );
    }
    if ((payload.ticket ?? null) !== record.ticket) {
      throw refuse(
        `it is for ${payload.ticket ? `ticket ${payload.ticket}` : "no ticket"}, and the customer's is ${record.ticket ? `ticket ${record.ticket}` : "none"}`,
        "ticket",
      );
    }
    return payload;
  }

  private async bringUp(
    record: TunnelRecord,
    view: DeviceTunnelView,
    payload: ApprovalPayload,
  ): Promise<ConnectResult> {
    const { clock, store, wg, users, log } = this.deps;
    const expiresAt = this.withinGrant(record, [
      ["the api", view.expiresAt],
      ["the approval", payload.expiresAt],
    ]);
    if (Date.parse(expiresAt) <= clock.now()) {
      // Remembered, so the agent's expiry check ends the tunnel instead of retrying it.
      await store.write({ ...record, expiresAt });
      await this.reportRefusal(record, "expired");
      throw new NotReadyError(`tunnel ${record.tunnelId}'s approval has expired (${expiresAt})`);
    }
    const approval = { engineer: payload.engineer, ticket: payload.ticket ?? null };
    // Nothing opens unrecorded: the session program must be one only root can change,
    // and the journal must take the approval, before any account exists.
    const { sessionProgram, logDir } = this.deps.settings;
    await this.deps.assertTrusted(sessionProgram.node, "node binary of the session program");
    await this.deps.assertTrusted(sessionProgram.script, "session program");
    const command = forcedCommand({
      ...sessionProgram,
      tunnelId: record.tunnelId,
      logDir,
      stateDir: this.deps.settings.stateDir,
    });
    await this.journal(
      {
        type: "approved",
        tunnelId: record.tunnelId,
        expiresAt,
        endpoint: `${payload.endpoint}:${payload.wgPort}`,
        engineer: payload.engineer,
        ticket: payload.ticket ?? null,
      },
      true,
    );
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
      approval,
    };
    const note = supportAccountNote(record.tunnelId, approval);
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
      // WireGuard, its firewall and the account come up at once: none needs the
      // others (the table matches the interface by name, so it may come first), and
      // each is a few programs run one after the other (ip, wireguard-go, wg; nft;
      // useradd, visudo). The key that lets support in is written last, once all
      // have settled: nothing on the interface is reachable unfiltered by then,
      // and a failure is undone before anyone could use it.
      const settled = await Promise.allSettled([
        wg.up(configPath),
        this.applyFirewall(connecting),
        (async () => {
          await users.create(record.supportUser, note);
          await users.grantSudo(
            record.supportUser,
            renderSudoers({
              supportUser: record.supportUser,
              tunnelId: record.tunnelId,
              logDir,
              note,
            }),
          );
        })(),
      ]);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      await users.authorize(
        record.supportUser,
        authorizedKeysLine({
          from: addrs.server,
          sshPublicKey: payload.sshPublicKey,
          command,
          allowedPorts: record.allowedPorts,
        }),
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
    await this.journal({
      type: "connected",
      tunnelId: record.tunnelId,
      supportUser: record.supportUser,
      interface: record.interface,
      address: addrs.device,
    });
    await this.reportConnected(up);
    return this.result(up, false);
  }

  /**
   * Tells the api this device refused the approval, so the engineer's `create`
   * stops waiting and the tunnel is approvable again. False when it could not
   * be told (the engineer's `create` then times out and takes the approval back).
   */
  private async reportRefusal(record: TunnelRecord, kind: ApprovalRefusalKind): Promise<boolean> {
    try {
      await this.apiFor(record).reportRefusal(kind);
      return true;
    } catch (err) {
      this.deps.log(
        `could not tell the api that tunnel ${record.tunnelId}'s approval was refused: ${(err as Error).message}`,
      );
      return false;
    }
  }

  /**
   * The approval this device acted on was taken back (its engineer's `create`
   * failed, or timed out, and withdrew it): undoes what was set up for it, so
   * nothing points at a server that is going, and the tunnel waits for a new
   * approval. Checked against the api under the lock: a new approval connected
   * meanwhile is left alone. True when something was undone.
   */
  async undoWithdrawn(id: string): Promise<boolean> {
    return this.withLock(id, async () => {
      const record = await this.deps.store.read(id);
      if (!record || record.phase === "requested" || record.phase === "stopping") return false;
      const view = await this.apiFor(record).getDeviceTunnel();
      if (view.state !== TunnelState.Pending) return false;
      this.deps.log(
        `tunnel ${id}: support withdrew the approval; undoing it and waiting for a new one`,
      );
      const clean = await this.resetLocked(record);
      await this.journalWithdrawn(clean);
      return true;
    });
  }

  /**
   * Journals that the approval the record holds was withdrawn, and forgets it:
   * the record no longer names a server or an engineer that is gone, and the
   * same withdrawal is never told twice.
   */
  private async journalWithdrawn(record: TunnelRecord): Promise<TunnelRecord> {
    await this.journal({
      type: "withdrawn",
      tunnelId: record.tunnelId,
      engineer: record.approval?.engineer ?? null,
    });
    const forgotten: TunnelRecord = { ...record, server: null, approval: null };
    await this.deps.store.write(forgotten);
    return forgotten;
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

  /**
   * The earliest of the expiry known so far and what others claim. A claim later
   * than the device's own deadline is a lie, or a mistake, about what the
   * customer granted: logged, and never honoured. A few seconds' difference is
   * clock skew between the device and the api, not worth a warning.
   */
  private withinGrant(
    record: Pick<TunnelRecord, "tunnelId" | "grantedUntil" | "expiresAt">,
    claims: [who: string, expiresAt: string][],
  ): string {
    const kept = new Date(
      earliest(effectiveExpiry(record), ...claims.map(([, at]) => at)),
    ).toISOString();
    for (const [who, at] of claims) {
      if (Date.parse(at) > Date.parse(record.grantedUntil) + CLOCK_SKEW_ALLOWANCE_MS) {
        this.deps.log(
          `${who} says tunnel ${record.tunnelId} expires at ${at}, later than the ${record.grantedUntil} granted here; keeping ${kept}`,
        );
      }
    }
    return kept;
  }

  private result(record: TunnelRecord, alreadyUp: boolean): ConnectResult {
    const addrs = tunnelAddresses(record.network);
    return {
      tunnelId: record.tunnelId,
      supportUser: record.supportUser,
      interface: record.interface,
      address: addrs.device,
      serverAddress: addrs.server,
      expiresAt: effectiveExpiry(record),
      alreadyUp,
    };
  }

  // ---- stop ----------------------------------------------------------------

  /** `stoppedBy`: for a tunnel the api ended ("ended"), who the api says ended it. */
  async stop(
    id: string,
    cause: StopCause = "device",
    reason?: string,
    stoppedBy?: StoppedBy | null,
  ): Promise<StopResult> {
    return this.withLock(id, async () => {
      const record = await this.deps.store.read(id);
      if (!record) return { tunnelId: id, found: false, apiTold: false };
      return this.stopLocked(record, cause, reason, stoppedBy);
    });
  }

  /** Ends the tunnel: teardown, the api told, the record removed. The caller holds the lock. */
  async stopLocked(
    record: TunnelRecord,
    cause: StopCause,
    reason?: string,
    stoppedBy?: StoppedBy | null,
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
    // After the teardown: the sessions it ended have closed, and their ends come first.
    await this.journal({
      type: "stopped",
      tunnelId: record.tunnelId,
      by: stopperOf(cause, stoppedBy),
      reason: reason ?? null,
    });
    return { tunnelId: record.tunnelId, found: true, apiTold };
  }

  /**
   * Takes a half-done tunnel (a crash, a reboot) back to `requested`, removing
   * whatever it had created. The caller holds the lock.
   */
  async resetLocked(record: TunnelRecord): Promise<TunnelRecord> {
    await this.teardown(record);
    const clean: TunnelRecord = { ...record, phase: "requested" };
    await this.deps.store.write(clean);
    return clean;
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
    await step("firewall", () => this.deps.firewall.remove(firewallTableName(record.interface)));
    if (created) await this.runHooks("postDown", record, false);
    if (failures.length) {
      throw new DeviceError(
        `could not fully remove tunnel ${record.tunnelId}: ${failures.join("; ")}`,
      );
    }
  }

  /** Creates (or replaces) the tunnel's nftables table from its record. */
  async applyFirewall(record: TunnelRecord): Promise<void> {
    await this.deps.firewall.apply(
      firewallTableName(record.interface),
      renderFirewallRuleset({
        interfaceName: record.interface,
        network: record.network,
        allowedPorts: record.allowedPorts,
      }),
    );
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
}
