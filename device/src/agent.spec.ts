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
    const { clock, api, wg, firewall, users, store, journal, log } = h.deps;
    const upkeep = new TunnelUpkeep({
      lifecycle,
      clock,
      api,
      wg,
      firewall,
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

  it("tells support of a refused approval, which leaves the tunnel approvable, and says so", async () => {
    const record = await lifecycle.request();
    h.api.approve(record.tunnelId, record.presharedKey, { tamper: true });
    const watching = sut.watch(record.tunnelId, shutdown.signal, { untilUp: true });
    await eventually(() => h.api.refusals.length === 1, "the refusal reported");
    assert.deepEqual(h.api.refusals, [{ tunnelId: record.tunnelId, kind: "psk" }]);
    assert.equal(h.api.state(record.tunnelId), TunnelState.Pending);
    await eventually(
      () => h.logs.some((l) => /support was told and can approve again/.test(l)),
      "the refusal logged",
    );

    h.api.approve(record.tunnelId, record.presharedKey);
    let outcome: string | undefined;
    void watching.then((o) => (outcome = o));
    await h.clock.runUntil(() => outcome !== undefined, "the watch to connect");
    assert.equal(outcome, "up");
    assert.equal(h.api.refusals.length, 1, "the good approval is not refused");
  });

  it("undoes a tunnel whose approval support withdrew, then connects the next approval", async () => {
    const record = await lifecycle.request();
    h.api.approve(record.tunnelId, record.presharedKey);
    void sut.watch(record.tunnelId, shutdown.signal);
    await eventually(() => h.users.users.size === 1, "connected");
    const first = (await h.store.read(record.tunnelId))!.server!.publicKey;

    // The engineer's create failed after the device connected but before the api heard.
    h.api.withdraw(record.tunnelId);
    await eventually(
      async () => (await h.store.read(record.tunnelId))!.phase === "requested",
      "undone",
    );
    assert.equal(h.users.users.size, 0);
    assert.equal(h.wg.up_.size, 0);

    h.api.approve(record.tunnelId, record.presharedKey);
    await eventually(
      () => h.api.state(record.tunnelId) === TunnelState.Running,
      "connected again, and the api told",
    );
    assert.equal(h.users.users.size, 1);
    const second = (await h.store.read(record.tunnelId))!.server!.publicKey;
    assert.notEqual(second, first, "to the new server");
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

  it("starts watching a tunnel requested after it started at once, woken by the state dir, not a timer", async () => {
    const running = sut.run(shutdown.signal);
    const before = h.clock.now();
    const record = await lifecycle.request();

    await eventually(
      () => h.api.polls.some((p) => p.tunnelId === record.tunnelId),
      "the agent to ask the api about the new tunnel",
    );
    h.api.approve(record.tunnelId, record.presharedKey);
    await eventually(async () => (await h.store.read(record.tunnelId))?.phase === "up", "up");

    assert.equal(h.clock.now(), before, "no timer of the agent had to fire");
    shutdown.abort();
    await running;
  });

  it("notices a tunnel stopped on this device while the api is unreachable, without waiting out a poll", async () => {
    const record = await lifecycle.request();
    h.api.approve(record.tunnelId, record.presharedKey);
    const running = sut.run(shutdown.signal);
    await eventually(async () => (await h.store.read(record.tunnelId))?.phase === "up", "up");
    await eventually(
      () => h.logs.some((l) => l === `tunnel ${record.tunnelId}: running`),
      "the agent to hold a long-poll on the running tunnel",
    );
    h.api.unreachable = true;

    // `support-device stop`, another process: the api cannot be told, so only the state dir says so.
    await new TunnelLifecycle({ ...h.deps, log: () => undefined }).stop(record.tunnelId);

    await eventually(
      () => h.logs.includes(`tunnel ${record.tunnelId} was stopped on this device`),
      "the agent to notice the stop",
    );
    shutdown.abort();
    await running;
  });

  describe("an api that does not hold long-polls or fails", () => {
    const minutes10 = 10 * 60_000;

    /** Fires the agent's timers for `ms` of fake time; stops early at `maxPolls` (a busy loop). */
    async function runFor(ms: number, maxPolls = 2000): Promise<void> {
      const until = h.clock.now() + ms;
      const deadline = Date.now() + 30_000;
      while (h.clock.now() < until && h.api.polls.length < maxPolls && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        h.clock.fireNext();
      }
    }

    /** Seconds between one poll and the next, over the last `ms` of fake time. */
    function gapsSince(from: number): number[] {
      const at = h.api.polls.map((p) => p.at).filter((t) => t >= from);
      return at.slice(1).map((t, i) => (t - at[i]!) / 1000);
    }

    it("keeps its poll rate bounded and backs off when the api answers at once with nothing new", async () => {
      const record = await lifecycle.request();
      h.api.holdsLongPolls = false;
      const start = h.clock.now();
      void sut.watch(record.tunnelId, shutdown.signal);

      await runFor(minutes10);

      const polls = h.api.polls.length;
      assert.ok(polls < 60, `${polls} polls in 10 minutes`);
      const late = gapsSince(start + minutes10 / 2);
      assert.ok(late.length > 0 && late.every((s) => s >= 15), `late gaps: ${late.join(", ")} s`);
      assert.equal(
        h.logs.filter((l) => /the api answers at once with nothing new; asking less often/.test(l))
          .length,
        1,
      );

      // The api holds long-polls again and the engineer approves: the tunnel connects.
      h.api.holdsLongPolls = true;
      h.api.approve(record.tunnelId, record.presharedKey);
      await h.clock.runUntil(
        async () => (await h.store.read(record.tunnelId))?.phase === "up",
        "up",
      );
    });

    it("backs off with jitter while the api is unreachable, and connects once it is back", async () => {
      const record = await lifecycle.request();
      h.api.unreachable = true;
      const start = h.clock.now();
      void sut.watch(record.tunnelId, shutdown.signal);

      await runFor(minutes10);

      const polls = h.api.polls.length;
      assert.ok(polls < 60, `${polls} polls in 10 minutes`);
      const early = gapsSince(start).slice(0, 4);
      assert.ok(
        early.every((s, i) => i === 0 || s >= early[i - 1]! / 2),
        `early gaps grow: ${early.join(", ")} s`,
      );
      const late = gapsSince(start + minutes10 / 2);
      assert.ok(late.length > 0 && late.every((s) => s >= 15), `late gaps: ${late.join(", ")} s`);
      assert.ok(new Set(late).size > 1, `jittered: ${late.join(", ")} s`);

      h.api.unreachable = false;
      h.api.approve(record.tunnelId, record.presharedKey);
      await h.clock.runUntil(
        async () => (await h.store.read(record.tunnelId))?.phase === "up",
        "up",
      );
    });
  });

  it("brings back a tunnel whose interface died, keeping its support user", async () => {
    const record = await lifecycle.request();
    h.api.approve(record.tunnelId, record.presharedKey);
    void sut.watch(record.tunnelId, shutdown.signal);
    await eventually(async () => (await h.store.read(record.tunnelId))?.phase === "up", "up");
    const user = h.users.users.get(record.supportUser);

    // wireguard-go killed: the interface is gone, nothing else changed.
    h.wg.up_.delete(record.interface);

    await h.clock.runUntil(
      () => h.logs.includes(`tunnel ${record.tunnelId}: ${record.interface} is back up`),
      "the interface back",
    );
    assert.ok(h.wg.up_.has(record.interface));
    assert.deepEqual(h.wg.ups, [record.interface, record.interface]);
    assert.equal(h.users.users.get(record.supportUser), user, "the same support user");
    assert.equal((await h.store.read(record.tunnelId))?.phase, "up");
    assert.equal(h.api.state(record.tunnelId), TunnelState.Running);
  });

  it("sets a tunnel up again from its approval when its interface cannot be brought back", async () => {
    const record = await lifecycle.request();
    h.api.approve(record.tunnelId, record.presharedKey);
    void sut.watch(record.tunnelId, shutdown.signal);
    await eventually(async () => (await h.store.read(record.tunnelId))?.phase === "up", "up");
    h.wg.up_.delete(record.interface);
    const up = h.wg.up.bind(h.wg);
    let failOnce = true;
    h.wg.up = async (configPath) => {
      if (failOnce) {
        failOnce = false;
        throw new Error("wg-quick up: boom");
      }
      return up(configPath);
    };

    await h.clock.runUntil(() => h.wg.up_.has(record.interface), "the interface back");
    await eventually(async () => (await h.store.read(record.tunnelId))?.phase === "up", "up");
    assert.ok(h.logs.some((l) => /could not bring back .*boom.*connect it again/.test(l)));
    assert.equal(h.users.users.size, 1, "one support user, made afresh");
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
