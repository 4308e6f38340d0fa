// Fake adapters for the device specs: an in-memory api with long-polls, and
// WireGuard, users, hooks and network that only record what they were asked.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import {
  ApiError,
  ApiUnreachableError,
  generateKeyPair,
  isTerminal,
  sealApproval,
  tunnelAddresses,
  TunnelState,
  type ApprovalRefusalKind,
  type CreateTunnelRequest,
  type DeviceTunnelView,
  type PresharedKey,
  type TunnelId,
  type WgKeyPair,
} from "@support-tunnel/common";
import type {
  Clock,
  DeviceApi,
  HookRunner,
  Firewall,
  LocalNetwork,
  Users,
  WireGuard,
} from "../adapters/ports";
import { FileJournal } from "../adapters/journal-store";
import { FileStateStore } from "../adapters/state-store";
import type { DeviceSettings } from "../config";
import type { DeviceDeps } from "../context";

/** Manual time: sleeps resolve only when a test moves the clock past them. */
export class FakeClock implements Clock {
  private timers: { at: number; resolve: () => void }[] = [];
  constructor(public time = Date.parse("2030-01-01T00:00:00Z")) {}
  now(): number {
    return this.time;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        this.timers = this.timers.filter((t) => t !== timer);
        resolve();
      };
      const timer = {
        at: this.time + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.timers.push(timer);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
  /** Fires the earliest pending timer (moving time to it); false if none is pending. */
  fireNext(): boolean {
    if (this.timers.length === 0) return false;
    this.timers.sort((a, b) => a.at - b.at);
    const timer = this.timers.shift()!;
    this.time = Math.max(this.time, timer.at);
    timer.resolve();
    return true;
  }
  /** Lets real time pass for the code under test, firing timers one by one, until `done` holds. */
  async runUntil(done: () => boolean | Promise<boolean>, what = "the condition"): Promise<void> {
    // Bounded by real time, not iterations: a loaded machine makes file I/O slow.
    const deadline = Date.now() + 15_000;
    for (let i = 0; Date.now() < deadline; i++) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      if (await done()) return;
      if (i % 5 === 4) this.fireNext();
    }
    throw new Error(`never happened: ${what}`);
  }
}

/** Waits in real time (the code under test does real file I/O) for `check`, without moving the fake clock. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`never happened: ${what}`);
}

interface FakeTunnel {
  view: DeviceTunnelView;
  token: string;
  request: CreateTunnelRequest;
  supportUser?: string;
  waiters: Set<() => void>;
}

export class FakeApi {
  readonly tunnels = new Map<string, FakeTunnel>();
  unreachable = false;
  enrollmentSecrets: (string | undefined)[] = [];
  /** Every refusal a device reported, in order. */
  readonly refusals: { tunnelId: string; kind: ApprovalRefusalKind }[] = [];
  /** The report of a refusal does not get through (the api went away in between). */
  refusalsFail = false;
  /** A lying api: added to every expiry it answers with (the request's and the view's). */
  expiryLieMs = 0;
  /** False: long-polls are answered at once, as by an api shutting down or a proxy that does not hold them. */
  holdsLongPolls = true;
  /** Every device poll asked, answered or not, with the fake time it was asked at. */
  readonly polls: { tunnelId: string | undefined; at: number }[] = [];

  constructor(
    private readonly clock: FakeClock,
    /** The api's own default, for a request that names no ttl. */
    public defaultTtlSeconds = 3600,
  ) {}

  private byToken(token?: string): FakeTunnel {
    const t = [...this.tunnels.values()].find((x) => x.token === token);
    if (!t) throw new ApiError(401, "unauthorized");
    return t;
  }

  private told(view: DeviceTunnelView): DeviceTunnelView {
    return { ...view, expiresAt: this.lie(view.expiresAt) };
  }

  private lie(expiresAt: string): string {
    return new Date(Date.parse(expiresAt) + this.expiryLieMs).toISOString();
  }

  private check(): void {
    if (this.unreachable) throw new ApiUnreachableError("api at fake unreachable: ECONNREFUSED");
  }

  private change(t: FakeTunnel, patch: Partial<DeviceTunnelView>): void {
    t.view = { ...t.view, ...patch };
    for (const wake of t.waiters) wake();
    t.waiters.clear();
  }

  client(token?: string): DeviceApi {
    return {
      createTunnel: async (body, secret) => {
        this.check();
        this.enrollmentSecrets.push(secret);
        const tunnelId = randomUUID() as TunnelId;
        // Like the api: the grant runs from the customer's start when there is one.
        const opens = Math.max(this.clock.now(), Date.parse(body.notBefore ?? "") || 0);
        const expiresAt = new Date(
          opens + (body.ttlSeconds ?? this.defaultTtlSeconds) * 1000,
        ).toISOString();
        const tok = `std_${randomBytes(32).toString("base64url")}`;
        this.tunnels.set(tunnelId, {
          token: tok,
          request: body,
          waiters: new Set(),
          view: {
            tunnelId,
            state: TunnelState.Pending,
            network: body.network,
            createdAt: new Date(this.clock.now()).toISOString(),
            expiresAt,
            server: null,
            stoppedBy: null,
            stopReason: null,
            ticket: body.ticket ?? null,
            notBefore: body.notBefore ?? null,
            allowedPorts: body.allowedPorts ?? [],
            allowedEngineers: body.allowedEngineers ?? null,
          },
        });
        return { tunnelId, token: tok, expiresAt: this.lie(expiresAt) };
      },
      getDeviceTunnel: async (opts = {}) => {
        this.polls.push({
          tunnelId: [...this.tunnels.values()].find((x) => x.token === token)?.view.tunnelId,
          at: this.clock.now(),
        });
        this.check();
        const t = this.byToken(token);
        // Like the api: without `since`, a wait waits for a change from the current state.
        if (
          this.holdsLongPolls &&
          opts.waitSeconds &&
          (opts.since ?? t.view.state) === t.view.state
        ) {
          await new Promise<void>((resolve, reject) => {
            if (opts.signal?.aborted) return reject(new Error("aborted"));
            const wake = () => resolve();
            t.waiters.add(wake);
            opts.signal?.addEventListener("abort", () => {
              t.waiters.delete(wake);
              reject(new Error("aborted"));
            });
            void this.clock.sleep(opts.waitSeconds! * 1000).then(wake);
          });
          this.check();
        }
        return this.told(t.view);
      },
      reportConnected: async (user) => {
        this.check();
        const t = this.byToken(token);
        if (t.view.state !== TunnelState.Started) throw new ApiError(409, "tunnel is not started");
        t.supportUser = user;
        this.change(t, { state: TunnelState.Running });
        return t.view;
      },
      reportRefusal: async (kind) => {
        this.check();
        if (this.refusalsFail) throw new ApiUnreachableError("api at fake unreachable: ECONNRESET");
        const t = this.byToken(token);
        if (t.view.state === TunnelState.Pending) return t.view;
        if (t.view.state !== TunnelState.Started) throw new ApiError(409, "tunnel is not started");
        this.refusals.push({ tunnelId: t.view.tunnelId, kind });
        this.change(t, { state: TunnelState.Pending, server: null });
        return t.view;
      },
      stopDeviceTunnel: async (reason) => {
        this.check();
        const t = this.byToken(token);
        if (isTerminal(t.view.state)) throw new ApiError(409, "tunnel already ended");
        this.change(t, {
          state: TunnelState.Completed,
          stoppedBy: "device" as never,
          stopReason: reason ?? null,
        });
        return t.view;
      },
    };
  }

  /** What the engineer side does: a server key, an egress key, a sealed approval. */
  approve(
    id: string,
    psk: PresharedKey,
    options: {
      tamper?: boolean;
      otherServerKey?: boolean;
      expiresAt?: string;
      /** Sent instead of the sealed approval: what a lying api could send. */
      approval?: string;
      /** Who approves; default alice. */
      engineer?: string;
      /** The ticket sealed in; default the one the device asked with. */
      ticket?: string;
    } = {},
  ): WgKeyPair {
    const t = this.tunnels.get(id)!;
    const server = generateKeyPair();
    const payload = {
      tunnelId: id as TunnelId,
      serverWgPublicKey: server.publicKey,
      endpoint: "203.0.113.7",
      wgPort: 51820,
      sshPublicKey:
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForSpecsOnly0000000000000000000 egress",
      expiresAt: options.expiresAt ?? t.view.expiresAt,
      engineer: options.engineer ?? "alice",
      ...("ticket" in options
        ? { ticket: options.ticket }
        : t.request.ticket
          ? { ticket: t.request.ticket }
          : {}),
    };
    let approval = sealApproval({
      payload,
      serverPrivateKey: server.privateKey,
      devicePublicKey: t.request.deviceWgPublicKey,
      psk,
    });
    if (options.tamper) {
      const raw = Buffer.from(approval, "base64");
      raw[40]! ^= 1;
      approval = raw.toString("base64");
    }
    if (options.approval !== undefined) approval = options.approval;
    const reported = options.otherServerKey ? generateKeyPair().publicKey : server.publicKey;
    this.change(t, {
      state: TunnelState.Started,
      server: { wgPublicKey: reported, publicIp: "203.0.113.7", wgPort: 51820, approval },
    });
    return server;
  }

  /** The engineer takes the approval back (their create failed): pending, the server gone. */
  withdraw(id: string): void {
    this.change(this.tunnels.get(id)!, { state: TunnelState.Pending, server: null });
  }

  end(id: string): void {
    this.change(this.tunnels.get(id)!, {
      state: TunnelState.Completed,
      stoppedBy: "engineer" as never,
      stopReason: "done",
    });
  }

  state(id: string): TunnelState {
    return this.tunnels.get(id)!.view.state;
  }
}

export class FakeWireGuard implements WireGuard {
  readonly up_ = new Map<string, string>();
  /** Every `wg-quick up`, by interface name. */
  readonly ups: string[] = [];
  async up(configPath: string): Promise<void> {
    this.ups.push(path.basename(configPath, ".conf"));
    this.up_.set(path.basename(configPath, ".conf"), fs.readFileSync(configPath, "utf8"));
  }
  async down(configPath: string): Promise<void> {
    this.up_.delete(path.basename(configPath, ".conf"));
  }
  async deleteInterface(name: string): Promise<void> {
    this.up_.delete(name);
  }
  async interfaces(): Promise<string[]> {
    return ["lo", "eth0", ...this.up_.keys()];
  }
  /** Latest handshake per interface, as a test sets it. */
  readonly handshakes = new Map<string, number>();
  async latestHandshake(name: string): Promise<number | null> {
    return this.handshakes.get(name) ?? null;
  }
}

export class FakeUsers implements Users {
  readonly users = new Map<
    string,
    { sudo: boolean; sudoers?: string; keys: string[]; comment?: string }
  >();
  failCreate = false;
  async exists(name: string): Promise<boolean> {
    return this.users.has(name);
  }
  async create(name: string, comment: string): Promise<void> {
    if (this.failCreate) throw new Error("useradd: boom");
    if (this.users.has(name)) throw new Error(`useradd: user '${name}' already exists`);
    this.users.set(name, { sudo: false, keys: [], comment });
  }
  async grantSudo(name: string, sudoers: string): Promise<void> {
    const user = this.users.get(name)!;
    user.sudo = true;
    user.sudoers = sudoers;
  }
  async authorize(name: string, line: string): Promise<void> {
    this.users.get(name)!.keys.push(line);
  }
  async remove(name: string): Promise<void> {
    this.users.delete(name);
  }
  async listSupportUsers(): Promise<string[]> {
    return [...this.users.keys()];
  }
}

export class FakeHooks implements HookRunner {
  readonly calls: string[][] = [];
  async run(argv: readonly string[]): Promise<void> {
    this.calls.push([...argv]);
  }
}

/** Tables in memory, with their rulesets: what a spec asserts on. */
export class FakeFirewall implements Firewall {
  readonly rulesets = new Map<string, string>();
  async apply(table: string, ruleset: string) {
    this.rulesets.set(table, ruleset);
  }
  async remove(table: string) {
    this.rulesets.delete(table);
  }
  async tables() {
    return [...this.rulesets.keys()];
  }
}

export const fakeNetwork: LocalNetwork = {
  usedCidrs: async () => ["default", "192.168.1.0/24", "192.168.1.10/24", "127.0.0.0/8"],
  hostname: () => "kiosk-7",
};

export interface Harness {
  deps: DeviceDeps;
  clock: FakeClock;
  api: FakeApi;
  wg: FakeWireGuard;
  firewall: FakeFirewall;
  users: FakeUsers;
  hooks: FakeHooks;
  store: FileStateStore;
  journal: FileJournal;
  stateDir: string;
  logDir: string;
  /** Files the lifecycle asked to be checked as root-owned, with what it called them. */
  trusted: string[];
  logs: string[];
  cleanup(): void;
}

export function createHarness(settings: Partial<DeviceSettings> = {}): Harness {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "device-spec-"));
  const clock = new FakeClock();
  const api = new FakeApi(clock);
  const wg = new FakeWireGuard();
  const firewall = new FakeFirewall();
  const users = new FakeUsers();
  const hooks = new FakeHooks();
  const store = new FileStateStore(stateDir, { lockTimeoutMs: 2000, lockPollMs: 5 });
  const logDir = path.join(stateDir, "log");
  const journal = new FileJournal(logDir);
  const trusted: string[] = [];
  const logs: string[] = [];
  const deps: DeviceDeps = {
    settings: {
      apiUrl: "http://api.test",
      stateDir,
      hooks: {},
      hookTimeoutMs: 1000,
      logDir,
      sessionRetentionDays: 90,
      sessionProgram: { node: "/usr/bin/node", script: "/opt/support-tunnel/session-program.js" },
      ...settings,
    },
    clock,
    random: (n) => new Uint8Array(randomBytes(n)),
    api: (_url, token) => api.client(token),
    wg,
    firewall,
    users,
    hooks,
    network: fakeNetwork,
    store,
    journal,
    assertTrusted: async (file, what) => {
      trusted.push(`${what}: ${file}`);
    },
    log: (m) => logs.push(m),
  };
  return {
    deps,
    clock,
    api,
    wg,
    firewall,
    users,
    hooks,
    store,
    journal,
    stateDir,
    logDir,
    trusted,
    logs,
    cleanup: () => fs.rmSync(stateDir, { recursive: true, force: true }),
  };
}

export function serverAddressOf(network: string): string {
  return tunnelAddresses(network).server;
}
