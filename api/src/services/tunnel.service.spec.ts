import assert from "node:assert/strict";
import { generateKeyPair, type CreateTunnelRequest } from "@support-tunnel/common";
import { loadConfig } from "../config";
import type { TunnelEntity } from "../entities/tunnel.entity";
import type { AccessRepository } from "../repositories/access.repository";
import type { AuditRepository, NewAuditEntry } from "../repositories/audit.repository";
import type { CustomerRepository } from "../repositories/customer.repository";
import type { DeviceRepository } from "../repositories/device.repository";
import type { TunnelSessionRepository } from "../repositories/tunnel-session.repository";
import type { TunnelRepository } from "../repositories/tunnel.repository";
import type { AccessService } from "./access.service";
import { ManualClock } from "./clock";
import type { ApiException } from "./errors";
import { TunnelWatcher } from "./tunnel-watcher.service";
import { TunnelService } from "./tunnel.service";

/** Tunnels in memory, with just the preconditions the real SQL has. */
class FakeTunnels {
  rows = new Map<string, TunnelEntity>();
  audit: NewAuditEntry[] = [];

  async insert(t: TunnelEntity, a: NewAuditEntry) {
    this.rows.set(t.id, { ...t });
    this.audit.push(a);
  }
  async findById(id: string) {
    const t = this.rows.get(id);
    return t ? { ...t } : null;
  }
  findByIdAfterWait(id: string) {
    return this.findById(id);
  }
  async statesLeft(waits: readonly { id: string; rank: number }[]) {
    return waits.flatMap((w) => {
      const rank = this.rows.get(w.id)?.state ?? null;
      return rank === w.rank ? [] : [{ id: w.id, rank }];
    });
  }
  async approve(
    id: string,
    now: Date,
    _s: unknown,
    by: string,
    a: NewAuditEntry,
    mayApprove?: (manager: unknown) => Promise<void>,
  ) {
    await mayApprove?.({});
    const t = this.rows.get(id);
    if (!t || t.state !== 10 || t.expiresAt <= now) return null;
    Object.assign(t, { state: 20, approvedBy: by });
    this.audit.push(a);
    return { ...t };
  }
  async markRunning(id: string, now: Date, user: string, a: NewAuditEntry) {
    const t = this.rows.get(id);
    if (!t || t.state !== 20 || t.expiresAt <= now) return null;
    Object.assign(t, { state: 30, supportUser: user });
    this.audit.push(a);
    return { ...t };
  }
}

function setup(env: Record<string, string> = {}) {
  const tunnels = new FakeTunnels();
  const clock = new ManualClock(new Date("2030-01-01T00:00:00Z"));
  const config = loadConfig(env);
  const repo = tunnels as unknown as TunnelRepository;
  const sut = new TunnelService(
    repo,
    {} as AuditRepository,
    new TunnelWatcher(repo, null),
    clock,
    config,
    // Access has its own tests on PostgreSQL (access.int.spec.ts): here everyone may see and use.
    { visibility: async () => ({ all: true }) } as unknown as AccessService,
    { lockForApproval: async () => true, mayUse: async () => true } as unknown as AccessRepository,
    {
      findBySecretHash: async () => null,
      namesById: async () => new Map(),
    } as unknown as CustomerRepository,
    { seen: async () => true } as unknown as DeviceRepository,
    { forTunnels: async () => new Map() } as unknown as TunnelSessionRepository,
  );
  return { sut, tunnels, clock };
}

const body = (extra: Partial<CreateTunnelRequest> = {}): CreateTunnelRequest => ({
  deviceWgPublicKey: generateKeyPair().publicKey,
  network: "10.1.0.0/30",
  ...extra,
});
const caller = { clientAddress: "198.51.100.7" };
const status = (code: number, message?: string) => (err: ApiException) => {
  assert.equal(err.getStatus(), code);
  if (message) assert.equal(err.message, message);
  return true;
};

describe("TunnelService", () => {
  it("stores only the hash of the device token it hands out", async () => {
    const { sut, tunnels } = setup();
    const created = await sut.request(body(), undefined, caller);
    const stored = tunnels.rows.get(created.tunnelId)!;
    assert.notEqual(stored.deviceTokenHash, created.token);
    assert.ok(!JSON.stringify(stored).includes(created.token));
    assert.equal(tunnels.audit[0]?.action, "tunnel.request");
    assert.equal(tunnels.audit[0]?.clientAddress, "198.51.100.7");
  });

  it("caps the lifetime a device asks for at the configured maximum", async () => {
    const { sut, clock } = setup({ SUPPORT_TUNNEL_MAX_TTL_SECONDS: "3600" });
    const created = await sut.request(body({ ttlSeconds: 86400 }), undefined, caller);
    assert.equal(Date.parse(created.expiresAt) - clock.now().getTime(), 3600_000);
  });

  it("wants the enrollment secret when one is configured", async () => {
    const { sut } = setup({ SUPPORT_ENROLLMENT_SECRET: "0123456789abcdef" });
    await assert.rejects(
      sut.request(body(), undefined, caller),
      status(401, "missing enrollment secret"),
    );
    await assert.rejects(
      sut.request(body(), "0123456789abcdeF", { clientAddress: "198.51.100.8" }),
      status(401, "wrong enrollment secret"),
    );
  });

  it("explains why an approval lost: not pending, or expired", async () => {
    const { sut, clock } = setup();
    const approval = {
      instanceId: "i-1",
      provider: "netns" as const,
      publicIp: "203.0.113.1",
      wgPort: 51820,
      wgPublicKey: generateKeyPair().publicKey,
      approval: "c2VhbGVk",
    };
    const engineer = { name: "olivia", role: "operator" as const };
    const first = await sut.request(body({ ttlSeconds: 60 }), undefined, caller);
    await sut.approve(first.tunnelId, approval, engineer, caller);
    await assert.rejects(
      sut.approve(first.tunnelId, approval, engineer, caller),
      status(409, "tunnel is not pending (state: started)"),
    );
    const second = await sut.request(body({ ttlSeconds: 60 }), undefined, caller);
    clock.advance(60);
    await assert.rejects(
      sut.approve(second.tunnelId, approval, engineer, caller),
      status(409, "tunnel expired"),
    );
    await assert.rejects(
      sut.approve("00000000-0000-4000-8000-000000000000", approval, engineer, caller),
      status(404, "tunnel not found"),
    );
  });

  describe("the customer's choices", () => {
    const approval = {
      instanceId: "i-1",
      provider: "netns" as const,
      publicIp: "203.0.113.1",
      wgPort: 51820,
      wgPublicKey: generateKeyPair().publicKey,
      approval: "c2VhbGVk",
    };
    const olivia = { name: "olivia", role: "operator" as const };
    const bob = { name: "bob", role: "admin" as const };

    it("refuses an approval by an engineer the customer did not allow, naming the rule, and changes nothing", async () => {
      const { sut, tunnels } = setup();
      const created = await sut.request(
        body({ allowedEngineers: ["olivia", "carol"] }),
        undefined,
        caller,
      );
      await assert.rejects(
        sut.approve(created.tunnelId, approval, bob, caller),
        status(403, "the customer allows only olivia, carol to approve this tunnel, not bob"),
      );
      assert.equal(tunnels.rows.get(created.tunnelId)!.state, 10);
      assert.deepEqual(
        tunnels.audit.map((a) => a.action),
        ["tunnel.request"],
      );
      assert.equal(
        (await sut.approve(created.tunnelId, approval, olivia, caller)).state,
        "started",
      );
    });

    it("refuses an approval before the customer's start, and counts the grant from it", async () => {
      const { sut, tunnels, clock } = setup();
      const start = new Date(clock.now().getTime() + 3600_000);
      const created = await sut.request(
        body({ notBefore: start.toISOString(), ttlSeconds: 600 }),
        undefined,
        caller,
      );
      assert.equal(Date.parse(created.expiresAt), start.getTime() + 600_000);
      await assert.rejects(
        sut.approve(created.tunnelId, approval, olivia, caller),
        status(
          409,
          `the customer allows no approval before ${start.toISOString()} (the tunnel's start)`,
        ),
      );
      assert.equal(tunnels.rows.get(created.tunnelId)!.state, 10);
      clock.advance(3600);
      assert.equal(
        (await sut.approve(created.tunnelId, approval, olivia, caller)).state,
        "started",
      );
    });

    it("refuses a start more than 7 days ahead, and takes a start already past as now", async () => {
      const { sut, clock } = setup();
      const now = clock.now().getTime();
      await assert.rejects(
        sut.request(
          body({ notBefore: new Date(now + 7 * 24 * 3600_000 + 1000).toISOString() }),
          undefined,
          caller,
        ),
        status(400, "must be at most 7 days ahead"),
      );
      const past = await sut.request(
        body({ notBefore: new Date(now - 60_000).toISOString(), ttlSeconds: 600 }),
        undefined,
        caller,
      );
      assert.equal(Date.parse(past.expiresAt), now + 600_000);
    });

    it("shows the choices in the engineer's and the device's views, and records them in the audit", async () => {
      const { sut, tunnels } = setup();
      const created = await sut.request(
        body({ ticket: "ABC-123", allowedEngineers: ["olivia"] }),
        undefined,
        caller,
      );
      const signal = new AbortController().signal;
      const view = await sut.view(
        created.tunnelId,
        { signal },
        { name: "olivia", role: "operator" },
      );
      assert.equal(view.ticket, "ABC-123");
      assert.deepEqual(view.allowedEngineers, ["olivia"]);
      assert.equal(view.notBefore, null);
      const deviceView = await sut.deviceView(tunnels.rows.get(created.tunnelId)!, { signal });
      assert.equal(deviceView.ticket, "ABC-123");
      assert.deepEqual(deviceView.allowedEngineers, ["olivia"]);
      assert.match(tunnels.audit[0]!.detail!, /ticket ABC-123, engineers olivia$/);
    });
  });

  it("accepts a repeated connection report for the same user, and refuses a different one", async () => {
    const { sut, tunnels } = setup();
    const created = await sut.request(body(), undefined, caller);
    const tunnel = tunnels.rows.get(created.tunnelId)!;
    await assert.rejects(
      sut.reportConnected(tunnel, "support00aa", caller),
      status(409, "tunnel is not started (state: pending)"),
    );
    tunnel.state = 20;
    assert.equal((await sut.reportConnected(tunnel, "support00aa", caller)).state, "running");
    assert.equal((await sut.reportConnected(tunnel, "support00aa", caller)).state, "running");
    await assert.rejects(sut.reportConnected(tunnel, "support00bb", caller), status(409));
    assert.equal(tunnels.audit.filter((a) => a.action === "tunnel.connected").length, 1);
  });
});
