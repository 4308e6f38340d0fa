import * as assert from "node:assert/strict";
import {
  parsePresharedKey,
  parseTunnelIdInput,
  type PresharedKey,
  type TunnelId,
} from "@support-tunnel/common";
import { createHarness, type Harness } from "../test/fakes";
import { TunnelLifecycle } from "../tunnel-lifecycle";
import type { ConsentTunnel } from "./consent-api";
import { DeviceConsentServices, type DeviceConsentOptions } from "./device-consent-services";
import { journalRecordProviders } from "./journal-record-providers";

describe("the consent page's services on a device", () => {
  let h: Harness;
  let lifecycle: TunnelLifecycle;
  let requested: string[];

  beforeEach(() => {
    h = createHarness();
    lifecycle = new TunnelLifecycle(h.deps);
    requested = [];
  });
  afterEach(() => h.cleanup());

  function sut(options: DeviceConsentOptions = {}) {
    return new DeviceConsentServices(
      { lifecycle, store: h.store, api: h.deps.api, clock: h.clock, log: h.deps.log },
      { onRequested: (id) => requested.push(id), ...options },
    );
  }

  async function one(services: DeviceConsentServices, id: string): Promise<ConsentTunnel> {
    const found = await services.status(id);
    assert.ok(found, `tunnel ${id} is listed`);
    return found;
  }

  it("requests like `request` does, and shows the tunnel waiting with its key and description", async () => {
    const services = sut();
    const created = await services.request({ description: "printer is offline", ttlSeconds: 3600 });
    const record = (await h.store.read(created.tunnelId))!;
    assert.equal(created.presharedKey, record.presharedKey);
    assert.equal(h.api.tunnels.get(created.tunnelId)!.request.ttlSeconds, 3600);
    assert.deepEqual(requested, [created.tunnelId]);
    const shown = await one(services, created.tunnelId);
    assert.equal(shown.status, "waiting");
    assert.equal(shown.presharedKey, record.presharedKey);
    // The codes to read out on the phone say the same as the raw forms.
    assert.equal(parsePresharedKey(shown.presharedKeyCode!), record.presharedKey);
    assert.deepEqual(parseTunnelIdInput(shown.tunnelCode!), { kind: "id", id: created.tunnelId });
    assert.equal(created.tunnelCode, shown.tunnelCode);
    assert.equal(shown.description, "printer is offline");
    assert.equal(shown.supportUser, record.supportUser);
    assert.equal(shown.expiresAt, new Date(h.clock.now() + 3600_000).toISOString());
  });

  it("shows a connected tunnel without its key, and since when it is up", async () => {
    const services = sut();
    const { tunnelId, presharedKey } = await services.request({});
    await services.list();
    h.api.approve(tunnelId, presharedKey as PresharedKey);
    h.clock.time += 60_000;
    await lifecycle.connect(tunnelId);
    const shown = await one(services, tunnelId);
    assert.equal(shown.status, "connected");
    assert.equal(shown.presharedKey, undefined);
    assert.equal(shown.connectedSince, new Date(h.clock.now()).toISOString());
  });

  it("does not claim a since it did not see", async () => {
    const { tunnelId, presharedKey } = await lifecycle.request({});
    h.api.approve(tunnelId, presharedKey);
    await lifecycle.connect(tunnelId);
    const shown = await one(sut(), tunnelId);
    assert.equal(shown.status, "connected");
    assert.equal(shown.connectedSince, undefined);
  });

  it("stops like `stop` does and lists the tunnel as stopped by the customer", async () => {
    const services = sut();
    const { tunnelId, presharedKey } = await services.request({});
    h.api.approve(tunnelId, presharedKey as PresharedKey);
    await lifecycle.connect(tunnelId);
    const result = await services.stop(tunnelId);
    assert.deepEqual(result, { tunnelId, found: true, apiTold: true });
    assert.equal(await h.store.read(tunnelId), null);
    assert.equal(h.wg.up_.size, 0);
    assert.equal(h.users.users.size, 0);
    assert.equal(h.api.tunnels.get(tunnelId)!.view.stoppedBy, "device");
    const shown = await one(services, tunnelId);
    assert.equal(shown.status, "ended");
    assert.equal(shown.endedBy, "customer");
    assert.equal(shown.presharedKey, undefined);
  });

  it("says nothing was left to stop for an unknown tunnel", async () => {
    const id = "00000000-0000-4000-8000-000000000000";
    assert.deepEqual(await sut().stop(id), { tunnelId: id, found: false, apiTold: false });
  });

  it("lists a tunnel support ended as ended by support, with its reason", async () => {
    const services = sut();
    const { tunnelId } = await services.request({});
    await services.list();
    h.api.end(tunnelId);
    await lifecycle.stop(tunnelId, "ended"); // what the agent does
    const shown = await one(services, tunnelId);
    assert.equal(shown.status, "ended");
    assert.equal(shown.endedBy, "support");
    assert.equal(shown.endReason, "done");
  });

  it("lists an expired tunnel as ending, then as expired once it is gone", async () => {
    const services = sut();
    const { tunnelId } = await services.request({ ttlSeconds: 600 });
    await services.list();
    h.clock.time += 601_000;
    assert.equal((await one(services, tunnelId)).status, "ending");
    await lifecycle.stop(tunnelId, "expiry");
    const shown = await one(services, tunnelId);
    assert.equal(shown.endedBy, "expiry");
  });

  it("still lists an ended tunnel when the api cannot say how it ended", async () => {
    const services = sut();
    const { tunnelId } = await services.request({});
    await services.list();
    await lifecycle.stop(tunnelId, "ended");
    h.api.unreachable = true;
    const shown = await one(services, tunnelId);
    assert.equal(shown.endedBy, "unknown");
    assert.ok(h.logs.some((l) => l.includes("the api did not say how")));
  });

  it("takes who is in and the ended tunnels from the session record when there is one", async () => {
    const kept: ConsentTunnel = {
      tunnelId: "5b8e2d3a-1c4f-4a6b-9d7e-8f9a0b1c2d3e",
      status: "ended",
      requestedAt: "2029-12-31T20:00:00.000Z",
      expiresAt: "2029-12-31T22:00:00.000Z",
      supportUser: "support5f4e3d2c",
      endedBy: "support",
    };
    const services = sut({
      record: {
        activeSessions: async () => [{ engineer: "alice", since: "2030-01-01T00:00:00Z" }],
        ended: async () => [kept],
        timeline: async () => [{ at: "2030-01-01T00:00:00Z", text: "requested" }],
      },
    });
    assert.equal(typeof services.timeline, "function");
    assert.equal(services.cast, undefined);
    const { tunnelId, presharedKey } = await services.request({});
    h.api.approve(tunnelId, presharedKey as PresharedKey);
    await lifecycle.connect(tunnelId);
    const list = await services.list();
    assert.deepEqual(
      list.map((t) => t.tunnelId),
      [tunnelId, kept.tunnelId],
    );
    assert.deepEqual(list[0]!.activeSessions, [
      { engineer: "alice", since: "2030-01-01T00:00:00Z" },
    ]);
  });

  it("takes the customer's choices like `request` and shows them with who approved", async () => {
    const services = sut();
    const start = new Date(h.clock.now() + 3600_000).toISOString();
    const { tunnelId, presharedKey } = await services.request({
      ticket: "ABC-123",
      start,
      engineers: ["alice", "bob"],
      ports: [443, 80],
    });
    const record = (await h.store.read(tunnelId))!;
    assert.deepEqual(record.allowedPorts, [80, 443]);
    assert.deepEqual(h.api.tunnels.get(tunnelId)!.request.allowedPorts, [80, 443]);
    assert.equal(record.ticket, "ABC-123");
    assert.equal(record.notBefore, start);
    assert.deepEqual(record.allowedEngineers, ["alice", "bob"]);
    assert.equal(h.api.tunnels.get(tunnelId)!.request.ticket, "ABC-123");
    const waiting = await one(services, tunnelId);
    assert.equal(waiting.ticket, "ABC-123");
    assert.equal(waiting.startsAt, start);
    assert.deepEqual(waiting.allowedEngineers, ["alice", "bob"]);
    assert.deepEqual(waiting.allowedPorts, [80, 443]);
    h.clock.time += 3600_000;
    h.api.approve(tunnelId, presharedKey as PresharedKey, { engineer: "bob" });
    await lifecycle.connect(tunnelId);
    assert.equal((await one(services, tunnelId)).approvedBy, "bob");
  });

  it("shows a withdrawn approval on the page's timeline, and no longer who approved it", async () => {
    const services = sut({ record: journalRecordProviders(h.deps.journal) });
    const requestedTunnel = await services.request({ description: "printer" });
    const tunnelId = requestedTunnel.tunnelId as TunnelId;
    h.api.approve(tunnelId, requestedTunnel.presharedKey as PresharedKey, { engineer: "alice" });
    await lifecycle.connect(tunnelId);
    assert.equal((await one(services, tunnelId)).approvedBy, "alice");

    h.api.withdraw(tunnelId);
    await lifecycle.undoWithdrawn(tunnelId);

    const timeline = (await services.timeline!(tunnelId))!.map((e) => e.text);
    assert.match(timeline.at(-1)!, /^approval withdrawn \(by alice\): support took it back/);
    assert.equal((await one(services, tunnelId)).approvedBy, undefined);
  });

  it("refuses a start in the past as the start field, creating nothing", async () => {
    const services = sut();
    await assert.rejects(
      services.request({ start: new Date(h.clock.now() - 60_000).toISOString() }),
      (err: Error & { field?: string }) => err.field === "start" && /in the past/.test(err.message),
    );
    assert.deepEqual(await h.store.list(), []);
    assert.deepEqual(requested, []);
  });

  it("shows the journal: who is in, since when, the timeline, the sessions, the ended tunnel", async () => {
    const services = sut({ record: journalRecordProviders(h.deps.journal) });
    const requestedTunnel = await services.request({ description: "printer", ticket: "ABC-123" });
    const { presharedKey } = requestedTunnel;
    const tunnelId = requestedTunnel.tunnelId as TunnelId;
    h.api.approve(tunnelId, presharedKey as PresharedKey);
    await lifecycle.connect(tunnelId);
    const connectedAt = new Date(h.clock.now()).toISOString();
    const record = (await h.store.read(tunnelId))!;
    const at = (ms: number) => new Date(h.clock.now() + ms).toISOString();
    const opened = { v: 1, tunnelId, supportUser: record.supportUser, engineer: "alice" } as const;
    await h.deps.journal.append({
      ...opened,
      at: at(1000),
      type: "session-opened",
      session: "0123456789ab",
      command: "systemctl restart cups",
      pty: false,
      from: null,
    });
    await h.deps.journal.append({
      v: 1,
      tunnelId,
      at: at(1400),
      type: "session-closed",
      session: "0123456789ab",
      exitCode: 0,
      signal: null,
      durationMs: 400,
      iolog: null,
    });
    await h.deps.journal.append({
      ...opened,
      at: at(2000),
      type: "session-opened",
      session: "ba9876543210",
      command: null,
      pty: true,
      from: null,
    });
    const live = await one(services, tunnelId);
    assert.equal(live.connectedSince, connectedAt);
    assert.equal(live.approvedBy, "alice");
    assert.deepEqual(live.activeSessions, [
      { engineer: "alice", since: at(2000), kind: "shell", sessionId: "ba9876543210" },
    ]);
    const timeline = (await services.timeline!(tunnelId))!.map((e) => e.text);
    assert.ok(timeline.some((t) => /^alice ran: systemctl restart cups \(exit 0/.test(t)));
    assert.ok(timeline.some((t) => /^alice has a shell open since/.test(t)));
    const sessions = (await services.sessions!(tunnelId))!;
    assert.deepEqual(
      sessions.map((s) => [s.sessionId, s.kind, s.command, s.exitCode]),
      [
        ["0123456789ab", "command", "systemctl restart cups", 0],
        ["ba9876543210", "shell", undefined, undefined],
      ],
    );
    assert.equal(await services.cast!("0123456789ab"), null, "no I/O log, nothing to play");
    assert.equal(await services.cast!("../../etc"), null);

    await services.stop(tunnelId);
    const ended = await one(services, tunnelId);
    assert.equal(ended.status, "ended");
    assert.equal(ended.endedBy, "customer");
    assert.equal(ended.ticket, "ABC-123");
    assert.equal(ended.description, "printer");
    assert.equal(ended.approvedBy, "alice");
    assert.equal(ended.activeSessions, undefined);
  });
});
