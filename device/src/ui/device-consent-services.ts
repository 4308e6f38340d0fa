// The consent page's services on a real device: requests and stops through the
// tunnel lifecycle, tunnels read from the local state. The page polls every
// couple of seconds, so listing never waits for the api; only a tunnel that just
// vanished is asked about once, to say how it ended.
import {
  presharedKeyCode,
  StoppedBy,
  tunnelCode,
  ValidationError,
  type DeviceTunnelView,
} from "@support-tunnel/common";
import type { Clock, DeviceApiFactory, StateStore } from "../adapters/ports";
import { effectiveExpiry, isExpired, type TunnelRecord } from "../record";
import { parseStartTime } from "../start-time";
import type { TunnelLifecycle } from "../tunnel-lifecycle";
import type {
  ActiveSession,
  ConsentTunnel,
  ConsentTunnelStatus,
  EndedBy,
  RequestedTunnel,
  SessionSummary,
  StoppedTunnel,
  TimelineEntry,
} from "./consent-api";
import type { ConsentPageServices, ConsentRequest } from "./consent-services";

export interface DeviceConsentDeps {
  lifecycle: TunnelLifecycle;
  store: StateStore;
  api: DeviceApiFactory;
  clock: Clock;
  log: (message: string) => void;
}

/** What the session record knows of a live tunnel that its state file does not keep. */
export interface RecordedFacts {
  description?: string;
  /** When it came up on this device. */
  connectedSince?: string;
}

/** The session record's readers (journal, sessions, recordings), when the device has them. */
export interface SessionRecordProviders {
  timeline?(tunnelId: string): Promise<TimelineEntry[] | null>;
  sessions?(tunnelId: string): Promise<SessionSummary[] | null>;
  cast?(sessionId: string): Promise<string | null>;
  /** Who of support is in a session on this tunnel right now. */
  activeSessions?(tunnelId: string): Promise<ActiveSession[]>;
  facts?(tunnelId: string): Promise<RecordedFacts>;
  /** Tunnels that ended, newest first, from the record that outlives them. */
  ended?(): Promise<ConsentTunnel[]>;
}

export interface DeviceConsentOptions {
  /** Told each tunnel requested through the page (the `ui` command connects it once approved). */
  onRequested?: (tunnelId: string) => void;
  record?: SessionRecordProviders;
  /** How long to wait for the api's word on how a vanished tunnel ended. */
  endQueryTimeoutMs?: number;
}

/** How many ended tunnels this process remembers when no session record keeps them. */
const ENDED_KEPT = 50;

const STATUS_OF_PHASE: Record<TunnelRecord["phase"], ConsentTunnelStatus> = {
  requested: "waiting",
  connecting: "connecting",
  up: "connected",
  stopping: "ending",
};

function endedByOf(view: DeviceTunnelView): EndedBy {
  switch (view.stoppedBy) {
    case StoppedBy.Device:
      return "customer";
    case StoppedBy.Engineer:
      return "support";
    case StoppedBy.Expiry:
      return "expiry";
    default:
      return "unknown";
  }
}

export class DeviceConsentServices implements ConsentPageServices {
  /** What each tunnel looked like at the last look: to notice one come up, or vanish. */
  private seen = new Map<string, { record: TunnelRecord; tunnel: ConsentTunnel }>();
  /** Learnt by watching; the session record, when present, knows better. */
  private readonly connectedSince = new Map<string, string>();
  private readonly descriptions = new Map<string, string>();
  private ended: ConsentTunnel[] = [];
  private readonly ending = new Map<string, Promise<void>>();
  readonly timeline?: (tunnelId: string) => Promise<TimelineEntry[] | null>;
  readonly sessions?: (tunnelId: string) => Promise<SessionSummary[] | null>;
  readonly cast?: (sessionId: string) => Promise<string | null>;

  constructor(
    private readonly deps: DeviceConsentDeps,
    private readonly options: DeviceConsentOptions = {},
  ) {
    const record = options.record;
    if (record?.timeline) this.timeline = (id) => record.timeline!(id);
    if (record?.sessions) this.sessions = (id) => record.sessions!(id);
    if (record?.cast) this.cast = (id) => record.cast!(id);
  }

  async request(choices: ConsentRequest): Promise<RequestedTunnel> {
    const record = await this.deps.lifecycle.request({
      description: choices.description || undefined,
      ttlSeconds: choices.ttlSeconds,
      ticket: choices.ticket,
      notBefore: choices.start === undefined ? undefined : this.startOf(choices.start),
      allowedEngineers: choices.engineers,
      allowedPorts: choices.ports,
    });
    if (choices.description) this.descriptions.set(record.tunnelId, choices.description);
    this.options.onRequested?.(record.tunnelId);
    return {
      tunnelId: record.tunnelId,
      presharedKey: record.presharedKey,
      tunnelCode: tunnelCode(record.tunnelId),
      presharedKeyCode: presharedKeyCode(record.presharedKey),
      expiresAt: effectiveExpiry(record),
    };
  }

  /** The start as `request --start` reads it, refused as the page's `start` field. */
  private startOf(text: string): Date {
    try {
      return parseStartTime(text, this.deps.clock.now());
    } catch (err) {
      const message = (err as Error).message.replace(/^--start \S+:? /, "");
      throw new ValidationError(`start: ${message}`, "start");
    }
  }

  async list(): Promise<ConsentTunnel[]> {
    const records = await this.deps.store.list();
    const present = new Set<string>(records.map((r) => r.tunnelId));
    for (const [id, last] of this.seen) {
      if (!present.has(id)) await this.noteEnded(last.record, last.tunnel);
    }
    const live = await Promise.all(records.map((r) => this.describe(r)));
    this.seen = new Map(records.map((r, i) => [r.tunnelId, { record: r, tunnel: live[i]! }]));
    live.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
    const ended = (await this.options.record?.ended?.()) ?? this.ended;
    return [...live, ...ended.filter((t) => !present.has(t.tunnelId))];
  }

  async status(tunnelId: string): Promise<ConsentTunnel | null> {
    return (await this.list()).find((t) => t.tunnelId === tunnelId) ?? null;
  }

  async stop(tunnelId: string): Promise<StoppedTunnel> {
    const record = await this.deps.store.read(tunnelId);
    const last = record ? (this.seen.get(tunnelId)?.tunnel ?? (await this.describe(record))) : null;
    const result = await this.deps.lifecycle.stop(
      tunnelId,
      "device",
      "stopped from the consent page",
    );
    if (result.found && last) {
      this.remember(last, {
        endedAt: new Date(this.deps.clock.now()).toISOString(),
        endedBy: "customer",
      });
      this.seen.delete(tunnelId);
    }
    return result;
  }

  /** One local record, in the page's terms: local state only, never the api. */
  private async describe(record: TunnelRecord): Promise<ConsentTunnel> {
    const id = record.tunnelId;
    const before = this.seen.get(id);
    let status = STATUS_OF_PHASE[record.phase];
    if (isExpired(record, this.deps.clock.now())) status = "ending";
    if (status === "connected" && !this.connectedSince.has(id) && before) {
      // Seen before it was up, so it came up since the last look.
      if (before.tunnel.status !== "connected")
        this.connectedSince.set(id, new Date(this.deps.clock.now()).toISOString());
    }
    if (status !== "connected") this.connectedSince.delete(id);
    const recorded = (await this.options.record?.facts?.(id)) ?? {};
    const description = this.descriptions.get(id) ?? recorded.description;
    const since =
      status === "connected" ? (recorded.connectedSince ?? this.connectedSince.get(id)) : undefined;
    const active =
      status === "connected" ? await this.options.record?.activeSessions?.(id) : undefined;
    return {
      tunnelId: id,
      tunnelCode: tunnelCode(id),
      status,
      ...(status === "waiting"
        ? {
            presharedKey: record.presharedKey,
            presharedKeyCode: presharedKeyCode(record.presharedKey),
          }
        : {}),
      ...(description ? { description } : {}),
      requestedAt: record.createdAt,
      expiresAt: effectiveExpiry(record),
      supportUser: record.supportUser,
      ...(since ? { connectedSince: since } : {}),
      ...(record.ticket ? { ticket: record.ticket } : {}),
      ...(record.notBefore ? { startsAt: record.notBefore } : {}),
      ...(record.allowedEngineers ? { allowedEngineers: record.allowedEngineers } : {}),
      ...(record.allowedPorts.length ? { allowedPorts: record.allowedPorts } : {}),
      // From the approval this device verified, never from the api.
      ...(record.approval ? { approvedBy: record.approval.engineer } : {}),
      ...(active ? { activeSessions: active } : {}),
    };
  }

  /** A tunnel gone from the state: remembered as ended, with the api's word on how when it answers. */
  private async noteEnded(record: TunnelRecord, last: ConsentTunnel): Promise<void> {
    let pending = this.ending.get(record.tunnelId);
    if (!pending) {
      pending = this.askHowItEnded(record, last).finally(() => {
        this.ending.delete(record.tunnelId);
        this.seen.delete(record.tunnelId);
      });
      this.ending.set(record.tunnelId, pending);
    }
    await pending;
  }

  private async askHowItEnded(record: TunnelRecord, last: ConsentTunnel): Promise<void> {
    const now = this.deps.clock.now();
    let endedBy: EndedBy = isExpired(record, now) ? "expiry" : "unknown";
    let endReason: string | undefined;
    if (endedBy === "unknown") {
      try {
        // The device token keeps working until the tunnel's expiry, to read how it ended.
        const view = await this.deps
          .api(record.apiUrl, record.deviceToken)
          .getDeviceTunnel({ signal: AbortSignal.timeout(this.options.endQueryTimeoutMs ?? 2000) });
        endedBy = endedByOf(view);
        endReason = view.stopReason ?? undefined;
      } catch (err) {
        this.deps.log(
          `tunnel ${record.tunnelId} ended; the api did not say how: ${(err as Error).message}`,
        );
      }
    }
    this.remember(last, {
      endedAt: new Date(now).toISOString(),
      endedBy,
      ...(endReason ? { endReason } : {}),
    });
  }

  /** Keeps an ended tunnel to list, without what only a live one has (its key, its sessions). */
  private remember(
    last: ConsentTunnel,
    end: Required<Pick<ConsentTunnel, "endedAt" | "endedBy">> & Pick<ConsentTunnel, "endReason">,
  ): void {
    const { presharedKey: _key, activeSessions: _sessions, ...kept } = last;
    const tunnel: ConsentTunnel = { ...kept, ...end, status: "ended" };
    this.ended = [tunnel, ...this.ended.filter((t) => t.tunnelId !== tunnel.tunnelId)].slice(
      0,
      ENDED_KEPT,
    );
    this.connectedSince.delete(tunnel.tunnelId);
  }
}
