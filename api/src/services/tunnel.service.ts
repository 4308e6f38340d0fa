// The tunnel rules: who may request, approve, connect and stop a tunnel, and
// when. Each change is one conditional update in the repository; this service
// decides what the precondition is and what to tell the caller when it fails.
import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import {
  CUSTOMER_SECRET_PREFIX,
  MAX_TUNNEL_PAGE,
  StoppedBy,
  TunnelState,
  encodeTunnelCursor,
  stateFromRank,
  stateRank,
  type ApprovalRefusalKind,
  type ApproveTunnelRequest,
  type AuditList,
  type CreateTunnelRequest,
  type CreateTunnelResponse,
  type DeviceTunnelView,
  type TunnelCursor,
  type ReportSessionRequest,
  type TunnelId,
  type TunnelList,
  type TunnelView,
} from "@support-tunnel/common";
import type { ApiConfig } from "../config";
import { toAuditEntryView } from "../dtos/audit-entry-view.dto";
import { toDeviceTunnelView, toTunnelView } from "../dtos/tunnel-view.dto";
import type { CustomerEntity } from "../entities/customer.entity";
import { TunnelEntity } from "../entities/tunnel.entity";
import { AccessRepository } from "../repositories/access.repository";
import { AuditRepository } from "../repositories/audit.repository";
import { CustomerRepository } from "../repositories/customer.repository";
import { DeviceRepository } from "../repositories/device.repository";
import { TunnelSessionRepository } from "../repositories/tunnel-session.repository";
import { TunnelRepository } from "../repositories/tunnel.repository";
import { missingUseMessage } from "./access-rules";
import { AccessService } from "./access.service";
import type { Engineer } from "./auth.service";
import { API_CONFIG, CLOCK, type Clock } from "./clock";
import { badRequest, conflict, forbidden, notFound, unauthorized } from "./errors";
import { TunnelWatcher, type WaitSignal } from "./tunnel-watcher.service";
import { hashToken, newDeviceToken, secretsEqual } from "./tokens";

/** Who asked, as the audit log records it; a change is rolled back once `signal` is aborted. */
export interface Caller {
  clientAddress: string | null;
  signal?: AbortSignal;
}

/** Sessions one tunnel may report: far more than support opens, few enough to bound a device's writes. */
export const MAX_SESSIONS_PER_TUNNEL = 1000;

/** How far ahead a customer may set the start: as far as the longest grant. */
const MAX_START_AHEAD_MS = 7 * 24 * 3600 * 1000;

export interface WaitOptions {
  waitSeconds?: number;
  since?: TunnelState;
  /** When the client goes (an AbortSignal, or the device edge's lighter one). */
  signal: WaitSignal;
}

@Injectable()
export class TunnelService {
  constructor(
    private readonly tunnels: TunnelRepository,
    private readonly audit: AuditRepository,
    private readonly watcher: TunnelWatcher,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly access: AccessService,
    private readonly accessRecords: AccessRepository,
    private readonly customers: CustomerRepository,
    private readonly devices: DeviceRepository,
    private readonly sessions: TunnelSessionRepository,
  ) {}

  // ---- device --------------------------------------------------------------

  async request(
    body: CreateTunnelRequest,
    enrollmentSecret: string | undefined,
    caller: Caller,
    deviceId?: string,
  ): Promise<CreateTunnelResponse> {
    const customer = await this.enrolledCustomer(enrollmentSecret);
    const now = this.clock.now();
    if (
      deviceId !== undefined &&
      !(await this.devices.seen(deviceId, customer?.id ?? null, body.hostname ?? null, now))
    ) {
      throw conflict(`device ${deviceId} is enrolled with another customer`);
    }
    const ttl = Math.min(
      body.ttlSeconds ?? this.config.defaultTtlSeconds,
      this.config.maxTtlSeconds,
    );
    const notBefore = body.notBefore === undefined ? null : new Date(body.notBefore);
    if (notBefore && notBefore.getTime() > now.getTime() + MAX_START_AHEAD_MS) {
      throw badRequest("must be at most 7 days ahead", "notBefore");
    }
    // The grant runs from the start the customer chose, as it does on the device.
    const opens = notBefore && notBefore > now ? notBefore : now;
    const token = newDeviceToken();
    const tunnel = Object.assign(new TunnelEntity(), {
      id: randomUUID(),
      state: stateRank(TunnelState.Pending),
      network: body.network,
      hostname: body.hostname ?? null,
      description: body.description ?? null,
      deviceWgPublicKey: body.deviceWgPublicKey,
      ticket: body.ticket ?? null,
      notBefore,
      allowedEngineers: body.allowedEngineers ?? null,
      allowedPorts: [...(body.allowedPorts ?? [])].sort((a, b) => a - b),
      customerId: customer?.id ?? null,
      deviceId: deviceId ?? null,
      deviceTokenHash: hashToken(token),
      createdAt: now,
      updatedAt: now,
      expiresAt: new Date(opens.getTime() + ttl * 1000),
      serverInstanceId: null,
      serverProvider: null,
      serverPublicIp: null,
      serverWgPort: null,
      serverWgPublicKey: null,
      approval: null,
      refusalKind: null,
      refusedAt: null,
      approvedBy: null,
      supportUser: null,
      stoppedBy: null,
      stopReason: null,
      endedAt: null,
    } satisfies TunnelEntity);
    await this.tunnels.insert(tunnel, {
      tunnelId: tunnel.id,
      actor: "device",
      action: "tunnel.request",
      detail: [
        `network ${tunnel.network}, ttl ${ttl}s`,
        ...(customer ? [`customer ${customer.name}`] : []),
        ...(tunnel.ticket ? [`ticket ${tunnel.ticket}`] : []),
        ...(notBefore ? [`not before ${notBefore.toISOString()}`] : []),
        ...(tunnel.allowedEngineers ? [`engineers ${tunnel.allowedEngineers.join(" ")}`] : []),
        ...(tunnel.allowedPorts.length ? [`ports ${tunnel.allowedPorts.join(" ")}`] : []),
      ].join(", "),
      clientAddress: caller.clientAddress,
      clientGone: caller.signal,
      at: now,
    });
    return { tunnelId: tunnel.id as TunnelId, token, expiresAt: tunnel.expiresAt.toISOString() };
  }

  deviceView(tunnel: TunnelEntity, wait: WaitOptions): Promise<DeviceTunnelView> {
    return this.afterWait(tunnel, wait, toDeviceTunnelView);
  }

  async reportConnected(
    tunnel: TunnelEntity,
    supportUser: string,
    caller: Caller,
  ): Promise<DeviceTunnelView> {
    const now = this.clock.now();
    const changed = await this.tunnels.markRunning(tunnel.id, now, supportUser, {
      tunnelId: tunnel.id,
      actor: "device",
      action: "tunnel.connected",
      detail: `support user ${supportUser}`,
      clientAddress: caller.clientAddress,
      clientGone: caller.signal,
      at: now,
    });
    if (changed) return toDeviceTunnelView(changed);
    const current = await this.findOrFail(tunnel.id);
    // A retried report (the first answer was lost) is not a conflict, nor one after a session opened.
    const state = stateFromRank(current.state);
    if (
      (state === TunnelState.Running || state === TunnelState.Connected) &&
      current.supportUser === supportUser
    ) {
      return toDeviceTunnelView(current);
    }
    throw conflict(`tunnel is not started (state: ${stateFromRank(current.state)})`);
  }

  /**
   * A session of support opened or closed on the device: who and when, no content.
   * The first one makes a running tunnel connected. Reports of an approved tunnel
   * are taken after it ended too: a session's close follows the stop that ended it.
   */
  async reportSession(
    tunnel: TunnelEntity,
    body: ReportSessionRequest,
    caller: Caller,
  ): Promise<void> {
    if (tunnel.state < stateRank(TunnelState.Started)) {
      throw conflict(`tunnel is not approved (state: ${stateFromRank(tunnel.state)})`);
    }
    const now = this.clock.now();
    const endedAt = body.endedAt ? new Date(body.endedAt) : null;
    const by = body.engineer ?? "an engineer the device does not know";
    const outcome = await this.sessions.report(
      tunnel.id,
      {
        sessionId: body.session,
        engineer: body.engineer,
        startedAt: new Date(body.startedAt),
        endedAt,
        exitCode: endedAt ? (body.exitCode ?? null) : null,
      },
      MAX_SESSIONS_PER_TUNNEL,
      (what) => ({
        tunnelId: tunnel.id,
        actor: "device",
        action: what === "opened" ? "session.open" : "session.close",
        detail:
          what === "opened"
            ? `session ${body.session} by ${by} at ${body.startedAt}`
            : `session ${body.session} by ${by} ended at ${body.endedAt}, exit ${body.exitCode ?? "none"}`,
        clientAddress: caller.clientAddress,
        clientGone: caller.signal,
        at: now,
      }),
    );
    if (!outcome.found) throw notFound("tunnel not found", "id");
    if (outcome.tooMany) {
      throw conflict(`this tunnel has reported ${MAX_SESSIONS_PER_TUNNEL} sessions already`);
    }
  }

  /**
   * The device refused the approval: back to pending, the approval and server
   * cleared, so the engineer's `create` (long-polling) learns why at once and can
   * approve again. A repeat (the first answer was lost) finds it pending: no change.
   */
  async reportRefusal(
    tunnel: TunnelEntity,
    kind: ApprovalRefusalKind,
    caller: Caller,
  ): Promise<DeviceTunnelView> {
    const now = this.clock.now();
    const changed = await this.tunnels.unapprove(
      tunnel.id,
      now,
      { refusalKind: kind },
      {
        tunnelId: tunnel.id,
        actor: "device",
        action: "tunnel.refuse",
        detail: `refused the approval${tunnel.approvedBy ? ` by ${tunnel.approvedBy}` : ""}${tunnel.serverInstanceId ? ` (server ${tunnel.serverInstanceId})` : ""}: ${kind}`,
        clientAddress: caller.clientAddress,
        clientGone: caller.signal,
        at: now,
      },
    );
    if (changed) return toDeviceTunnelView(changed);
    const current = await this.findOrFail(tunnel.id);
    if (stateFromRank(current.state) === TunnelState.Pending) return toDeviceTunnelView(current);
    throw conflict(`tunnel is not started (state: ${stateFromRank(current.state)})`);
  }

  async stopByDevice(
    tunnel: TunnelEntity,
    reason: string | undefined,
    caller: Caller,
  ): Promise<DeviceTunnelView> {
    return toDeviceTunnelView(
      await this.stop(tunnel.id, StoppedBy.Device, "device", reason, caller),
    );
  }

  // ---- engineer ------------------------------------------------------------

  async list(
    query: {
      state?: TunnelState;
      live?: boolean;
      cursor?: TunnelCursor;
      limit?: number;
    },
    engineer: Engineer,
  ): Promise<TunnelList> {
    const limit = query.limit ?? MAX_TUNNEL_PAGE;
    const visible = await this.access.visibility(engineer);
    // One more than the page tells whether another page follows, without a count.
    const found = await this.tunnels.list({
      stateRank: query.state === undefined ? null : stateRank(query.state),
      liveOnly: query.live === true,
      after: query.cursor ?? null,
      limit: limit + 1,
      customerIds: visible.all ? undefined : visible.customerIds,
    });
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    return {
      tunnels: await this.views(page),
      nextCursor:
        found.length > limit && last
          ? encodeTunnelCursor({ createdAt: last.createdAt, id: last.id as TunnelId })
          : null,
    };
  }

  async view(id: string, wait: WaitOptions, engineer: Engineer): Promise<TunnelView> {
    const tunnel = await this.findVisibleOrFail(id, engineer);
    await this.afterWait(tunnel, wait, (after) => after);
    // Seen again after the wait: access may have ended while it waited.
    return this.toView(await this.findVisibleOrFail(id, engineer));
  }

  async approve(
    id: string,
    body: ApproveTunnelRequest,
    engineer: Engineer,
    caller: Caller,
  ): Promise<TunnelView> {
    const now = this.clock.now();
    // The customer's choices never change after the request, so checking them
    // before the conditional update leaves no race. The device checks them
    // again from its own record: this only spares a server and says why early.
    const tunnel = await this.findVisibleOrFail(id, engineer);
    if (tunnel.allowedEngineers && !tunnel.allowedEngineers.includes(engineer.name)) {
      throw forbidden(
        `the customer allows only ${tunnel.allowedEngineers.join(", ")} to approve this tunnel, not ${engineer.name}`,
      );
    }
    if (tunnel.notBefore && now < tunnel.notBefore) {
      throw conflict(
        `the customer allows no approval before ${tunnel.notBefore.toISOString()} (the tunnel's start)`,
      );
    }
    const changed = await this.tunnels.approve(
      id,
      now,
      body,
      engineer.name,
      {
        tunnelId: id,
        actor: `engineer:${engineer.name}`,
        action: "tunnel.approve",
        detail: `${body.provider} server ${body.instanceId} at ${body.publicIp}:${body.wgPort}`,
        clientAddress: caller.clientAddress,
        clientGone: caller.signal,
        at: now,
      },
      // In the approving transaction, locking the rows that grant the access:
      // a removal committing first leaves none; one committing after ends the tunnel.
      async (manager) => {
        if (
          await this.accessRecords.lockForApproval(manager, engineer.name, tunnel.customerId, now)
        )
          return;
        throw forbidden(await this.missingAccess(engineer, tunnel));
      },
    );
    if (changed) return this.toView(changed);
    const current = await this.findOrFail(id);
    if (stateFromRank(current.state) === TunnelState.Pending) throw conflict("tunnel expired");
    throw conflict(`tunnel is not pending (state: ${stateFromRank(current.state)})`);
  }

  /**
   * The engineer takes back an approval the device has not acted on (their
   * `create` timed out or failed, and its server is going): back to pending, so
   * the customer's request stays usable. Only while it names `instanceId`: never
   * another engineer's approval, never a tunnel the device has connected.
   */
  async withdrawApproval(
    id: string,
    instanceId: string,
    engineer: Engineer,
    caller: Caller,
  ): Promise<TunnelView> {
    const now = this.clock.now();
    const changed = await this.tunnels.unapprove(
      id,
      now,
      { instanceId },
      {
        tunnelId: id,
        actor: `engineer:${engineer.name}`,
        action: "tunnel.withdraw",
        detail: `approval with server ${instanceId} withdrawn`,
        clientAddress: caller.clientAddress,
        clientGone: caller.signal,
        at: now,
      },
    );
    if (changed) return this.toView(changed);
    const current = await this.findOrFail(id);
    const state = stateFromRank(current.state);
    // Nothing to take back: a repeat, or the device refused it first.
    if (state === TunnelState.Pending) return this.toView(current);
    if (state === TunnelState.Started && current.serverInstanceId === instanceId) {
      throw conflict("tunnel expired");
    }
    if (state === TunnelState.Started) {
      throw conflict(
        `the approval is not server ${instanceId}'s (approved by ${current.approvedBy ?? "someone else"})`,
      );
    }
    throw conflict(
      `tunnel is ${state}: only an approval the device has not acted on can be withdrawn; stop the tunnel instead`,
    );
  }

  async stopByEngineer(
    id: string,
    reason: string | undefined,
    engineer: Engineer,
    caller: Caller,
  ): Promise<TunnelView> {
    const tunnel = await this.findVisibleOrFail(id, engineer);
    // Ending early narrows, but it is still using the access: admins, or who may approve it.
    if (
      tunnel.customerId !== null &&
      engineer.role !== "admin" &&
      !(await this.accessRecords.mayUse(engineer.name, tunnel.customerId, this.clock.now()))
    ) {
      throw forbidden(await this.missingAccess(engineer, tunnel));
    }
    return this.toView(
      await this.stop(id, StoppedBy.Engineer, `engineer:${engineer.name}`, reason, caller),
    );
  }

  async auditTrail(id: string, engineer: Engineer): Promise<AuditList> {
    await this.findVisibleOrFail(id, engineer);
    const entries = await this.audit.listForTunnel(id);
    return { entries: entries.map(toAuditEntryView) };
  }

  // ---- shared --------------------------------------------------------------

  private async stop(
    id: string,
    stoppedBy: StoppedBy,
    actor: string,
    reason: string | undefined,
    caller: Caller,
  ): Promise<TunnelEntity> {
    const now = this.clock.now();
    // Recorded as a timeout when its time had run out (the repository decides, in the statement).
    const changed = await this.watcher.commit(id, () =>
      this.tunnels.stop(id, now, stoppedBy, reason ?? null, {
        actor,
        actions: { stopped: "tunnel.stop", timedOut: "tunnel.timeout" },
        clientAddress: caller.clientAddress,
        clientGone: caller.signal,
      }),
    );
    if (changed) return changed;
    // Already over: stopping again changes nothing and is not an error.
    return this.findOrFail(id);
  }

  /**
   * `answer` of the tunnel now, or, when a wait is asked and the tunnel is still
   * in the state waited on, once it has left it (or the wait is over). Not
   * async: a held long-poll keeps no suspended frame, nor the entity read
   * before it, here; only the watcher's promise and one continuation (issue 14).
   */
  private afterWait<T>(
    tunnel: TunnelEntity,
    wait: WaitOptions,
    answer: (tunnel: TunnelEntity) => T,
  ): Promise<T> {
    if (!wait.waitSeconds) return Promise.resolve(answer(tunnel));
    const sinceRank = wait.since === undefined ? tunnel.state : stateRank(wait.since);
    if (tunnel.state !== sinceRank) return Promise.resolve(answer(tunnel));
    const id = tunnel.id;
    return this.watcher
      .waitForChange(id, sinceRank, Date.now() + wait.waitSeconds * 1000, wait.signal)
      .then((committed) => (committed ? answer(committed) : this.rereadAfterWait(id).then(answer)));
  }

  private async rereadAfterWait(id: string): Promise<TunnelEntity> {
    const after = await this.tunnels.findByIdAfterWait(id);
    if (!after) throw notFound("tunnel not found", "id");
    return after;
  }

  private async findOrFail(id: string): Promise<TunnelEntity> {
    const tunnel = await this.tunnels.findById(id);
    if (!tunnel) throw notFound("tunnel not found", "id");
    return tunnel;
  }

  /**
   * The tunnel, if the engineer may see it: an admin, a tunnel of no customer,
   * or one whose customer a group of theirs serves. Otherwise the same 404 as
   * for no tunnel at all, so ids of other customers' tunnels tell nothing.
   */
  private async findVisibleOrFail(id: string, engineer: Engineer): Promise<TunnelEntity> {
    const tunnel = await this.findOrFail(id);
    if (tunnel.customerId === null) return tunnel;
    const visible = await this.access.visibility(engineer);
    if (visible.all || visible.customerIds.includes(tunnel.customerId)) return tunnel;
    throw notFound("tunnel not found", "id");
  }

  private async missingAccess(engineer: Engineer, tunnel: TunnelEntity): Promise<string> {
    if (tunnel.customerId === null) return `engineer ${engineer.name} no longer exists`;
    const name = (await this.customerNames([tunnel])).get(tunnel.customerId) ?? "its customer";
    return missingUseMessage(engineer.name, name);
  }

  /**
   * The customer whose enrollment secret the device sent (`stc_…`), or null for
   * a tunnel of no customer: the global secret when one is configured, else none.
   */
  private async enrolledCustomer(secret: string | undefined): Promise<CustomerEntity | null> {
    // Rate-limited per address before this (see http/rate-limit.ts), which also slows guessing.
    if (secret?.startsWith(CUSTOMER_SECRET_PREFIX)) {
      const customer = await this.customers.findBySecretHash(hashToken(secret));
      if (customer) return customer;
    }
    if (this.config.enrollmentSecret !== null) {
      if (!secret) throw unauthorized("missing enrollment secret", "x-enrollment-secret");
      if (!secretsEqual(secret, this.config.enrollmentSecret)) {
        throw unauthorized("wrong enrollment secret", "x-enrollment-secret");
      }
      return null;
    }
    // A customer's secret that matches no customer (rotated, mistyped) must not
    // quietly make a tunnel of no customer, seen by every engineer.
    if (secret?.startsWith(CUSTOMER_SECRET_PREFIX)) {
      throw unauthorized("wrong enrollment secret", "x-enrollment-secret");
    }
    return null;
  }

  private customerNames(tunnels: TunnelEntity[]): Promise<Map<string, string>> {
    return this.customers.namesById(
      tunnels.flatMap((t) => (t.customerId === null ? [] : [t.customerId])),
    );
  }

  /** The engineer's views of the tunnels, with their customers' names and their sessions. */
  private async views(tunnels: TunnelEntity[]): Promise<TunnelView[]> {
    const names = await this.customerNames(tunnels);
    const sessions = await this.sessions.forTunnels(tunnels.map((t) => t.id));
    return tunnels.map((t) =>
      toTunnelView(
        t,
        t.customerId === null ? null : (names.get(t.customerId) ?? null),
        sessions.get(t.id),
      ),
    );
  }

  private async toView(tunnel: TunnelEntity): Promise<TunnelView> {
    const [view] = await this.views([tunnel]);
    return view!;
  }
}
