import * as assert from "node:assert/strict";
import { TunnelState } from "@support-tunnel/common";
import { Agent } from "./agent";
import { createHarness, eventually, type Harness } from "./test/fakes";
import { TunnelLifecycle } from "./tunnel-lifecycle";
import { TunnelUpkeep } from "./tunnel-upkeep";

describe("Agent", () => {
  let h: Harness;
  let lifecycle: TunnelLifecycle;
  let sut: Agent;
  let shutdown: AbortController;

  beforeEach(() => {
    h = createHarness();
    lifecycle = new TunnelLifecycle(h.deps);
    const { clock, api, wg, users, store, journal, log } = h.deps;
    const upkeep = new TunnelUpkeep({
      lifecycle,
      clock,
      api,
      wg,
      users,
      store,
      journal,
      sessionRetentionDays: 90,
      log,
    });
    sut = new Agent(
      { lifecycle, upkeep, store, clock, api, wg, log },
      { waitSeconds: 25, backoffMs: 1000 },
    );
    shutdown = new AbortController();
  });
  afterEach(() => {
    shutdown.abort();
    h.cleanup();
  });

  it("connects a tunnel the moment it is approved", async () => {
    const record = await lifecycle.request();
    const watching = sut.watch(record.tunnelId, shutdown.signal, { untilUp: true });
    await new Promise((resolve) => setImmediate(resolve));
    h.api.approve(record.tunnelId, record.presharedKey);

    assert.equal(await watching, "up");
    assert.ok(h.users.users.has(record.supportUser));
    assert.equal(h.api.state(record.tunnelId), TunnelState.Running);
  });

  it("tears a tunnel down when the engineer ends it", async () => {
    const record = await lifecycle.request();
    h.api.approve(record.tunnelId, record.presharedKey);
    const watching = sut.watch(record.tunnelId, shutdown.signal);
    await eventually(() => h.users.users.size === 1, "connected");

    h.api.end(record.tunnelId);

    assert.equal(await watching, "ended");
    assert.equal(h.users.users.size, 0);
    assert.equal(h.wg.up_.size, 0);
    assert.equal(await h.store.read(record.tunnelId), null);
  });

  it("tears a tunnel down at expiry while the api is unreachable", async () => {
    const record = await lifecycle.request();
    h.api.approve(record.tunnelId, record.presharedKey);
    await lifecycle.connect(record.tunnelId);
    h.api.unreachable = true;

    let outcome: string | undefined;
    const watching = sut.watch(record.tunnelId, shutdown.signal).then((o) => (outcome = o));
    await h.clock.runUntil(() => outcome !== undefined, "the watch to end");
    await watching;
    assert.equal(outcome, "ended");

    assert.ok(h.clock.now() >= Date.parse(record.expiresAt));
    assert.equal(h.users.users.size, 0);
    assert.equal(h.wg.up_.size, 0);
    assert.equal(await h.store.read(record.tunnelId), null);
  });

  it("tears a tunnel down at the device's own deadline though the api and the approval say 30 days", async () => {
    const days30 = 30 * 24 * 3600_000;
    const record = await lifecycle.request({ ttlSeconds: 60 });
    h.api.expiryLieMs = days30;
    h.api.approve(record.tunnelId, record.presharedKey, {
      expiresAt: new Date(h.clock.now() + days30).toISOString(),
    });

    let outcome: string | undefined;
    const watching = sut.watch(record.tunnelId, shutdown.signal).then((o) => (outcome = o));
    await h.clock.runUntil(() => outcome !== undefined, "the watch to end");
    await watching;

    assert.equal(outcome, "ended");
    assert.ok(h.logs.some((l) => /^the approval says tunnel .* later than/.test(l)));
    assert.ok(h.clock.now() >= Date.parse(record.grantedUntil));
    assert.ok(h.clock.now() < Date.parse(record.grantedUntil) + days30, "long before the lie");
    assert.equal(h.users.users.size, 0);
    assert.equal(h.wg.up_.size, 0);
    assert.equal(await h.store.read(record.tunnelId), null);
    assert.equal(h.api.state(record.tunnelId), TunnelState.Completed, "the api is told");
  });

  it("ends a tunnel whose approval has already run out instead of retrying it", async () => {
    const record = await lifecycle.request();
    const past = new Date(h.clock.now() - 1000).toISOString();
    h.api.approve(record.tunnelId, record.presharedKey, { expiresAt: past });

    let outcome: string | undefined;
    void sut.watch(record.tunnelId, shutdown.signal).then((o) => (outcome = o));
    await h.clock.runUntil(() => outcome !== undefined, "the watch to end");

    assert.equal(outcome, "ended");
    assert.equal(h.users.users.size, 0);
    assert.equal(await h.store.read(record.tunnelId), null);
  });

  it("keeps waiting after a refused approval and connects when a valid one arrives", async () => {
    const record = await lifecycle.request();
    h.api.approve(record.tunnelId, record.presharedKey, { tamper: true });
    const watching = sut.watch(record.tunnelId, shutdown.signal, { untilUp: true });
    await eventually(() => h.logs.some((l) => /refusing the approval/.test(l)), "refusal logged");
    assert.equal(h.users.users.size, 0);

    h.api.approve(record.tunnelId, record.presharedKey);

    let outcome: string | undefined;
    void watching.then((o) => (outcome = o));
    await h.clock.runUntil(() => outcome !== undefined, "the watch to connect");
    assert.equal(outcome, "up");
  });

  it("on start, cleans up a half-done connect and then connects the still-approved tunnel", async () => {
    const record = await lifecycle.request();
    h.api.approve(record.tunnelId, record.presharedKey);
    await h.store.write({ ...record, phase: "connecting" });
    h.users.users.set(record.supportUser, { sudo: true, keys: ["stale"] });

    const running = sut.run(shutdown.signal);
    await eventually(async () => (await h.store.read(record.tunnelId))?.phase === "up", "up");
    shutdown.abort();
    await running;

    assert.deepEqual(h.users.users.get(record.supportUser)!.keys.length, 1);
    assert.notEqual(h.users.users.get(record.supportUser)!.keys[0], "stale");
    assert.equal(h.wg.up_.size, 1, "leaves the tunnel up when the agent stops");
  });

  it("picks up a tunnel requested after it started", async () => {
    const running = sut.run(shutdown.signal);
    const record = await lifecycle.request();
    h.api.approve(record.tunnelId, record.presharedKey);
    await h.clock.runUntil(async () => (await h.store.read(record.tunnelId))?.phase === "up", "up");
    shutdown.abort();
    await running;
  });

  describe("before the customer's start", () => {
    const minutes5 = 5 * 60_000;

    it("connects a tunnel approved early only once the start has come, then at once", async () => {
      const start = h.clock.now() + minutes5;
      const record = await lifecycle.request({ notBefore: new Date(start) });
      h.api.approve(record.tunnelId, record.presharedKey);
      let upAt: number | undefined;
      const up = h.wg.up.bind(h.wg);
      h.wg.up = async (configPath) => {
        upAt = h.clock.now();
        return up(configPath);
      };

      let outcome: string | undefined;
      void sut
        .watch(record.tunnelId, shutdown.signal, { untilUp: true })
        .then((o) => (outcome = o));
      await h.clock.runUntil(() => outcome !== undefined, "the watch to connect");

      assert.equal(outcome, "up");
      assert.equal(upAt, start, "not a moment before the start, nor a long-poll after it");
      assert.equal(
        h.logs.filter((l) =>
          new RegExp(`opens at ${new Date(start).toISOString()}.*waiting$`).test(l),
        ).length,
        1,
        h.logs.join("\n"),
      );
      assert.equal(h.api.state(record.tunnelId), TunnelState.Running);
    });

    it("tears down, having set nothing up, a tunnel the engineer ends before the start", async () => {
      const record = await lifecycle.request({ notBefore: new Date(h.clock.now() + minutes5) });
      h.api.approve(record.tunnelId, record.presharedKey);
      const watching = sut.watch(record.tunnelId, shutdown.signal);
      await eventually(() => h.logs.some((l) => /waiting$/.test(l)), "waiting for the start");

      h.api.end(record.tunnelId);

      assert.equal(await watching, "ended");
      assert.equal(h.wg.up_.size, 0);
      assert.equal(h.users.users.size, 0);
      assert.ok(h.clock.now() < Date.parse(record.notBefore!));
    });

    it("refuses an early approval by an engineer not allowed at once, not at the start", async () => {
      const record = await lifecycle.request({
        notBefore: new Date(h.clock.now() + minutes5),
        allowedEngineers: ["alice"],
      });
      h.api.approve(record.tunnelId, record.presharedKey, { engineer: "bob" });
      void sut.watch(record.tunnelId, shutdown.signal);

      await eventually(
        () => h.logs.some((l) => /refusing the approval .* approved by bob/.test(l)),
        "the refusal logged",
      );
      assert.ok(h.clock.now() < Date.parse(record.notBefore!));
      assert.equal(h.users.users.size, 0);
    });
  });
});
