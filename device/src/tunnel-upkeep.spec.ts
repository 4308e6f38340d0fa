import * as assert from "node:assert/strict";
import { createHarness, type Harness } from "./test/fakes";
import { TunnelLifecycle } from "./tunnel-lifecycle";
import { TunnelUpkeep } from "./tunnel-upkeep";

describe("TunnelUpkeep", () => {
  let h: Harness;
  let lifecycle: TunnelLifecycle;
  let sut: TunnelUpkeep;

  beforeEach(() => {
    h = createHarness({
      hooks: {
        preUp: ["/usr/local/bin/pre-up", "{id}", "{interface}"],
        postDown: ["/usr/local/bin/post-down", "{user}"],
      },
    });
    lifecycle = new TunnelLifecycle(h.deps);
    const { clock, api, wg, firewall, users, store, journal, log } = h.deps;
    sut = new TunnelUpkeep({
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
  });
  afterEach(() => h.cleanup());

  const requested = () => lifecycle.request({ description: "printer is offline" });

  describe("recover", () => {
    it("cleans up a connect that crashed half way, leaving the tunnel ready to connect again", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      await lifecycle.connect(record.tunnelId);
      // as if the process died between `connecting` and `up`
      await h.store.write({ ...(await h.store.read(record.tunnelId))!, phase: "connecting" });

      await sut.recover(record.tunnelId);

      assert.equal(h.wg.up_.size, 0);
      assert.equal(h.users.users.size, 0);
      assert.equal((await h.store.read(record.tunnelId))!.phase, "requested");
    });

    it("finishes a stop that crashed half way", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      await lifecycle.connect(record.tunnelId);
      await h.store.write({ ...(await h.store.read(record.tunnelId))!, phase: "stopping" });

      await sut.recover(record.tunnelId);

      assert.equal(h.users.users.size, 0);
      assert.equal(await h.store.read(record.tunnelId), null);
    });

    it("stops a tunnel that expired while the device was off, without the api", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      await lifecycle.connect(record.tunnelId);
      h.api.unreachable = true;
      h.clock.time += 2 * 3600_000;

      await sut.recover(record.tunnelId);

      assert.equal(h.wg.up_.size, 0);
      assert.equal(h.users.users.size, 0);
      assert.equal(await h.store.read(record.tunnelId), null);
    });
  });

  describe("status of a tunnel that is up", () => {
    it("says it is down when its interface is gone, or the server has not shaken hands lately, and fine otherwise", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      await lifecycle.connect(record.tunnelId);

      assert.match(
        (await sut.status(record.tunnelId)).linkDown ?? "",
        /^no WireGuard handshake with the tunnel server yet$/,
      );
      h.wg.handshakes.set(record.interface, h.clock.now() - 10_000);
      const fine = await sut.status(record.tunnelId);
      assert.equal(fine.linkDown, null);
      assert.equal(fine.latestHandshakeAt, new Date(h.clock.now() - 10_000).toISOString());

      h.clock.time += 5 * 60_000;
      assert.match(
        (await sut.status(record.tunnelId)).linkDown ?? "",
        /^no WireGuard handshake with the tunnel server for 310 s: it does not answer$/,
      );

      h.wg.up_.delete(record.interface);
      const gone = await sut.status(record.tunnelId);
      assert.equal(gone.interfaceUp, false);
      assert.match(
        gone.linkDown ?? "",
        new RegExp(
          `^its interface ${record.interface} is gone .*the agent brings it back, or run \`support-device connect ${record.tunnelId}\`$`,
        ),
      );
    });

    it("says nothing of the link of a tunnel not meant to be up", async () => {
      const record = await requested();
      assert.equal((await sut.status(record.tunnelId)).linkDown, null);
    });
  });

  describe("expiry the api claims", () => {
    const days30 = 30 * 24 * 3600_000;

    async function upWithLies() {
      const record = await lifecycle.request({ ttlSeconds: 60 });
      h.api.expiryLieMs = days30;
      h.api.approve(record.tunnelId, record.presharedKey, {
        expiresAt: new Date(h.clock.now() + days30).toISOString(),
      });
      await lifecycle.connect(record.tunnelId);
      return record;
    }

    it("status reports the device's own deadline, not the later one the api and the approval claim", async () => {
      const record = await upWithLies();

      const status = await sut.status(record.tunnelId);

      assert.equal(status.expiresAt, record.grantedUntil);
      assert.equal(status.grantedUntil, record.grantedUntil);
      assert.equal(status.expired, false);
    });

    it("gc ends a tunnel at the device's own deadline though the api says it runs for 30 days", async () => {
      const record = await upWithLies();
      h.clock.time = Date.parse(record.grantedUntil);

      const result = await sut.gc();

      assert.deepEqual(result.stopped, [record.tunnelId]);
      assert.equal(h.users.users.size, 0);
      assert.equal(h.wg.up_.size, 0);
    });
  });

  describe("the tunnel's nftables table", () => {
    it("is made with the allowed ports, re-made when the link is restored, removed at stop", async () => {
      const record = await lifecycle.request({ allowedPorts: [443, 80] });
      h.api.approve(record.tunnelId, record.presharedKey);
      await lifecycle.connect(record.tunnelId);
      const table = `support_tunnel_${record.interface}`;
      assert.match(h.firewall.rulesets.get(table) ?? "", /tcp dport \{ 22, 80, 443 \} accept/);
      const keys = h.users.users.get(record.supportUser)!.keys.join("\n");
      assert.match(keys, /permitopen="127\.0\.0\.1:80",permitopen="127\.0\.0\.1:443"/);
      assert.doesNotMatch(keys, /no-port-forwarding/);

      // A reboot: the interface and the ruleset are gone; the agent restores both.
      h.wg.up_.delete(record.interface);
      h.firewall.rulesets.clear();
      assert.equal(await sut.restoreLink(record.tunnelId), "restored");
      assert.ok(h.firewall.rulesets.has(table));

      await lifecycle.stop(record.tunnelId, "device");
      assert.equal(h.firewall.rulesets.size, 0);
    });

    it("keeps port forwarding off when no port is allowed", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      await lifecycle.connect(record.tunnelId);
      assert.match(h.users.users.get(record.supportUser)!.keys.join(""), /no-port-forwarding/);
      assert.match(
        h.firewall.rulesets.get(`support_tunnel_${record.interface}`) ?? "",
        /tcp dport \{ 22 \} accept/,
      );
    });

    it("gc removes a table no tunnel owns, and leaves others' tables alone", async () => {
      await h.firewall.apply("support_tunnel_std0123456789ab", "");
      await h.firewall.apply("filter", "");
      const result = await sut.gc();
      assert.deepEqual(await h.firewall.tables(), ["filter"]);
      assert.ok(result.removedInterfaces.includes("support_tunnel_std0123456789ab"));
    });
  });

  describe("gc", () => {
    it("removes interfaces and users no tunnel owns, and tunnels the api has ended", async () => {
      const ended = await requested();
      const kept = await requested();
      h.api.end(ended.tunnelId);
      h.wg.up_.set("std0123456789ab", "");
      h.users.users.set("supportdeadbeef", { sudo: true, keys: [] });

      const result = await sut.gc();

      assert.deepEqual(result.stopped, [ended.tunnelId]);
      assert.deepEqual(result.removedInterfaces, ["std0123456789ab"]);
      assert.deepEqual(result.removedUsers, ["supportdeadbeef"]);
      assert.ok(await h.store.read(kept.tunnelId));
      assert.deepEqual(result.prunedRecords, [], "a record within its retention is kept");
      assert.ok(await h.journal.read(ended.tunnelId));
    });

    it("removes the session record of a tunnel gone longer than the retention, and keeps a recent one", async () => {
      const gone = await requested();
      const expiring = await requested();
      await lifecycle.stop(gone.tunnelId);
      h.clock.time += 91 * 24 * 3600_000;
      h.api.unreachable = true;

      const result = await sut.gc();

      assert.deepEqual(result.prunedRecords, [gone.tunnelId]);
      assert.equal(await h.journal.read(gone.tunnelId), null);
      // Ended by this very gc (it expired): its record's retention starts now.
      assert.deepEqual(result.stopped, [expiring.tunnelId]);
      assert.ok(await h.journal.read(expiring.tunnelId));
    });
  });
});
