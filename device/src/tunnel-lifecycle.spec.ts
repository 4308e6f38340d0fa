import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { cidrsOverlap, parseCidr, TunnelState } from "@support-tunnel/common";
import {
  ApprovalRefusedError,
  DeviceError,
  ExitCode,
  NotReadyError,
  NotYetOpenError,
} from "./errors";
import { createHarness, serverAddressOf, type Harness } from "./test/fakes";
import { TunnelLifecycle } from "./tunnel-lifecycle";

describe("TunnelLifecycle", () => {
  let h: Harness;
  let sut: TunnelLifecycle;

  beforeEach(() => {
    h = createHarness({
      hooks: {
        preUp: ["/usr/local/bin/pre-up", "{id}", "{interface}"],
        postDown: ["/usr/local/bin/post-down", "{user}"],
      },
    });
    sut = new TunnelLifecycle(h.deps);
  });
  afterEach(() => h.cleanup());

  async function requested() {
    const record = await sut.request({ description: "printer is offline" });
    return record;
  }

  describe("request", () => {
    it("registers the public key and a free private subnet, and stores the secrets 0600", async () => {
      const record = await requested();
      const sent = h.api.tunnels.get(record.tunnelId)!.request;
      assert.equal(sent.network, record.network);
      assert.equal(sent.hostname, "kiosk-7");
      assert.equal(sent.description, "printer is offline");
      assert.ok(
        !JSON.stringify(sent).includes(record.presharedKey),
        "the PSK never goes to the api",
      );
      assert.ok(
        !JSON.stringify(sent).includes(record.privateKey),
        "the private key never goes to the api",
      );
      assert.ok(!cidrsOverlap(parseCidr(record.network), parseCidr("192.168.1.0/24")));
      assert.match(record.supportUser, /^support[0-9a-f]{8}$/);
      const file = path.join(h.stateDir, "tunnels", `${record.tunnelId}.json`);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(fs.statSync(h.stateDir).mode & 0o777, 0o700);
      assert.equal(
        (JSON.parse(fs.readFileSync(file, "utf8")) as { phase: string }).phase,
        "requested",
      );
    });

    it("gives a second tunnel a subnet that does not overlap the first", async () => {
      const first = await requested();
      const second = await requested();
      assert.ok(!cidrsOverlap(parseCidr(first.network), parseCidr(second.network)));
    });

    it("sends the enrollment secret from the config as a header value, not in the body", async () => {
      h.deps.settings.enrollmentSecret = "fleet-secret";
      const record = await requested();
      assert.deepEqual(h.api.enrollmentSecrets, ["fleet-secret"]);
      assert.ok(
        !JSON.stringify(h.api.tunnels.get(record.tunnelId)!.request).includes("fleet-secret"),
      );
    });
  });

  describe("connect", () => {
    it("brings up WireGuard and a sudo user whose key only works from the server's tunnel address", async () => {
      const record = await requested();
      const server = h.api.approve(record.tunnelId, record.presharedKey);

      const result = await sut.connect(record.tunnelId);

      assert.equal(result.supportUser, record.supportUser);
      const config = h.wg.up_.get(record.interface)!;
      assert.match(config, new RegExp(`PublicKey = ${server.publicKey.replace(/[+/]/g, "\\$&")}`));
      assert.match(config, /PersistentKeepalive = 25/);
      assert.match(config, /Endpoint = 203\.0\.113\.7:51820/);
      const user = h.users.users.get(record.supportUser)!;
      assert.equal(user.sudo, true);
      assert.equal(user.keys.length, 1);
      assert.ok(
        user.keys[0]!.startsWith(
          `from="${serverAddressOf(record.network)}",no-agent-forwarding,no-X11-forwarding`,
        ),
      );
      assert.equal(h.api.state(record.tunnelId), TunnelState.Running);
      assert.equal((await h.store.read(record.tunnelId))!.phase, "up");
      assert.deepEqual(h.hooks.calls[0], [
        "/usr/local/bin/pre-up",
        record.tunnelId,
        record.interface,
      ]);
      assert.equal(fs.statSync(h.store.wgConfigPath(record.interface)).mode & 0o777, 0o600);
    });

    it("says the tunnel is not approved yet while it is pending", async () => {
      const record = await requested();
      await assert.rejects(sut.connect(record.tunnelId), NotReadyError);
      assert.equal(h.wg.up_.size, 0);
    });

    for (const [title, options] of [
      ["refuses a tampered approval and creates nothing", { tamper: true }],
      ["refuses an approval that is not base64 and creates nothing", { approval: "not base64!" }],
      ["refuses an approval too short to be one and creates nothing", { approval: "AAAA" }],
      [
        "refuses an approval whose server key differs from the api's and creates nothing",
        { otherServerKey: true },
      ],
    ] as const) {
      it(title, async () => {
        const record = await requested();
        h.api.approve(record.tunnelId, record.presharedKey, options);
        await assert.rejects(sut.connect(record.tunnelId), ApprovalRefusedError);
        assert.equal(h.wg.up_.size, 0);
        assert.equal(h.users.users.size, 0);
        assert.equal(h.hooks.calls.length, 0);
        assert.equal((await h.store.read(record.tunnelId))!.phase, "requested");
      });
    }

    it("refuses an approval sealed with another PSK and creates nothing", async () => {
      const record = await requested();
      const other = await requested();
      h.api.approve(record.tunnelId, other.presharedKey);
      await assert.rejects(sut.connect(record.tunnelId), /preshared key/);
      assert.equal(h.wg.up_.size, 0);
      assert.equal(h.users.users.size, 0);
    });

    for (const [kind, options] of [
      ["psk", { tamper: true }],
      ["malformed", { approval: "AAAA" }],
      ["server-key", { otherServerKey: true }],
    ] as const) {
      it(`tells the api it refused the approval (${kind}), so support can approve again`, async () => {
        const record = await requested();
        h.api.approve(record.tunnelId, record.presharedKey, options);
        await assert.rejects(sut.connect(record.tunnelId), (err: unknown) => {
          assert.ok(err instanceof ApprovalRefusedError);
          assert.equal(err.kind, kind);
          assert.equal(err.supportTold, true);
          return true;
        });
        assert.deepEqual(h.api.refusals, [{ tunnelId: record.tunnelId, kind }]);
        assert.equal(h.api.state(record.tunnelId), TunnelState.Pending);

        h.api.approve(record.tunnelId, record.presharedKey);
        assert.equal((await sut.connect(record.tunnelId)).alreadyUp, false);
      });
    }

    it("refuses a wrong PSK, creating nothing, when the api cannot be told either", async () => {
      const record = await requested();
      const other = await requested();
      h.api.approve(record.tunnelId, other.presharedKey);
      h.api.refusalsFail = true;
      await assert.rejects(sut.connect(record.tunnelId), (err: unknown) => {
        assert.ok(err instanceof ApprovalRefusedError);
        assert.equal(err.kind, "psk");
        assert.equal(err.supportTold, false);
        return true;
      });
      assert.equal(h.wg.up_.size, 0);
      assert.equal(h.users.users.size, 0);
    });

    it("connects afresh to a new approval's server when the one it was up with was withdrawn", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      await sut.connect(record.tunnelId);
      h.api.withdraw(record.tunnelId);
      const server = h.api.approve(record.tunnelId, record.presharedKey);
      const again = await sut.connect(record.tunnelId);
      assert.equal(again.alreadyUp, false);
      assert.equal((await h.store.read(record.tunnelId))!.server!.publicKey, server.publicKey);
    });

    it("undoes a tunnel whose approval was withdrawn, and only then", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      await sut.connect(record.tunnelId);
      assert.equal(await sut.undoWithdrawn(record.tunnelId), false, "still approved: kept");
      assert.equal(h.users.users.size, 1);
      h.api.withdraw(record.tunnelId);
      assert.equal(await sut.undoWithdrawn(record.tunnelId), true);
      assert.equal(h.users.users.size, 0);
      assert.equal(h.wg.up_.size, 0);
      assert.equal((await h.store.read(record.tunnelId))!.phase, "requested");
    });

    it("undoes everything when a step fails half way, and can connect again afterwards", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      h.users.failCreate = true;
      await assert.rejects(sut.connect(record.tunnelId), /useradd: boom/);
      assert.equal(h.wg.up_.size, 0);
      assert.equal(fs.existsSync(h.store.wgConfigPath(record.interface)), false);
      assert.equal((await h.store.read(record.tunnelId))!.phase, "requested");

      h.users.failCreate = false;
      await sut.connect(record.tunnelId);
      assert.equal(h.wg.up_.size, 1);
    });

    it("removes a tunnel the api says has ended", async () => {
      const record = await requested();
      h.api.end(record.tunnelId);
      await assert.rejects(sut.connect(record.tunnelId), /has ended/);
      assert.equal(await h.store.read(record.tunnelId), null);
    });

    it("brings a tunnel back whose interface vanished (a reboot), with a fresh user", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      await sut.connect(record.tunnelId);
      h.wg.up_.clear();

      const again = await sut.connect(record.tunnelId);

      assert.equal(again.alreadyUp, false);
      assert.ok(h.wg.up_.has(record.interface));
      assert.equal(h.users.users.get(record.supportUser)!.keys.length, 1);
    });

    it("is a no-op for a tunnel that is already up", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      await sut.connect(record.tunnelId);
      const again = await sut.connect(record.tunnelId);
      assert.equal(again.alreadyUp, true);
    });
  });

  describe("expiry", () => {
    const minute = 60_000;
    const days30 = 30 * 24 * 3600_000;

    it("keeps the customer's duration as its own deadline when the api answers a later expiry, and says so", async () => {
      h.api.expiryLieMs = days30;
      const asked = h.clock.now();

      const record = await sut.request({ ttlSeconds: 60 });

      assert.equal(h.api.tunnels.get(record.tunnelId)!.request.ttlSeconds, 60, "the api is told");
      assert.equal(Date.parse(record.grantedUntil), asked + minute);
      assert.equal(record.expiresAt, record.grantedUntil);
      assert.ok(
        h.logs.some((l) =>
          new RegExp(
            `^the api says tunnel ${record.tunnelId} expires at .*, later than the ${record.grantedUntil} granted here; keeping ${record.grantedUntil}$`,
          ).test(l),
        ),
        h.logs.join("\n"),
      );
    });

    it("grants the config's duration, else two hours, never the api's default", async () => {
      h.api.defaultTtlSeconds = 24 * 3600;
      const sentTtl = (id: string) => h.api.tunnels.get(id)!.request.ttlSeconds;
      const byDefault = await sut.request();
      assert.equal(Date.parse(byDefault.grantedUntil), h.clock.now() + 2 * 3600_000);
      assert.equal(byDefault.expiresAt, byDefault.grantedUntil);
      assert.equal(sentTtl(byDefault.tunnelId), undefined, "nothing chosen, nothing sent");

      h.deps.settings.ttlSeconds = 600;
      const byConfig = await sut.request();
      assert.equal(Date.parse(byConfig.grantedUntil), h.clock.now() + 600_000);
      assert.equal(sentTtl(byConfig.tunnelId), 600);
    });

    it("lets neither the api nor an approval extend the grant at connect, and says so for each", async () => {
      const record = await sut.request({ ttlSeconds: 60 });
      h.api.expiryLieMs = days30;
      h.api.approve(record.tunnelId, record.presharedKey, {
        expiresAt: new Date(h.clock.now() + days30).toISOString(),
      });
      h.logs.length = 0;

      const result = await sut.connect(record.tunnelId);

      assert.equal(result.expiresAt, record.grantedUntil);
      assert.equal((await h.store.read(record.tunnelId))!.expiresAt, record.grantedUntil);
      assert.deepEqual(
        h.logs.map((l) => l.split(" says ")[0]),
        ["the api", "the approval"],
      );
    });

    it("takes an earlier expiry from the api or the approval", async () => {
      const record = await sut.request({ ttlSeconds: 3600 });
      const sooner = new Date(h.clock.now() + 10 * minute).toISOString();
      h.api.approve(record.tunnelId, record.presharedKey, { expiresAt: sooner });

      const result = await sut.connect(record.tunnelId);

      assert.equal(result.expiresAt, sooner);
      assert.deepEqual(h.logs, [], "narrowing is no lie");
    });
  });

  describe("stop", () => {
    it("removes the user, the interface and its config, tells the api, and forgets the tunnel", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      await sut.connect(record.tunnelId);

      const result = await sut.stop(record.tunnelId);

      assert.deepEqual(result, { tunnelId: record.tunnelId, found: true, apiTold: true });
      assert.equal(h.wg.up_.size, 0);
      assert.equal(h.users.users.size, 0);
      assert.equal(fs.existsSync(h.store.wgConfigPath(record.interface)), false);
      assert.equal(await h.store.read(record.tunnelId), null);
      assert.equal(h.api.state(record.tunnelId), TunnelState.Completed);
      assert.deepEqual(h.hooks.calls.at(-1), ["/usr/local/bin/post-down", record.supportUser]);
    });

    it("is idempotent", async () => {
      const record = await requested();
      await sut.stop(record.tunnelId);
      const again = await sut.stop(record.tunnelId);
      assert.equal(again.found, false);
    });

    it("leaves nothing behind when a stop races a connect (agent and customer at once)", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      const other = new TunnelLifecycle(h.deps);

      await Promise.allSettled([sut.connect(record.tunnelId), other.stop(record.tunnelId)]);

      assert.equal(h.wg.up_.size, 0);
      assert.equal(h.users.users.size, 0);
      assert.equal(await h.store.read(record.tunnelId), null);
    });

    it("tears down locally even when the api is unreachable", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      await sut.connect(record.tunnelId);
      h.api.unreachable = true;

      const result = await sut.stop(record.tunnelId);

      assert.equal(result.apiTold, false);
      assert.equal(h.wg.up_.size, 0);
      assert.equal(h.users.users.size, 0);
      assert.equal(await h.store.read(record.tunnelId), null);
    });
  });
  describe("the session record", () => {
    const events = async (id: string) =>
      (await h.journal.read(id))!.events.map((e) =>
        e.type === "stopped" ? `stopped by ${e.by}${e.reason ? `: ${e.reason}` : ""}` : e.type,
      );

    it("connects with every session forced through the root-owned session program, recorded by sudo", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);

      await sut.connect(record.tunnelId);

      const user = h.users.users.get(record.supportUser)!;
      assert.match(
        user.keys[0]!,
        new RegExp(
          `,no-port-forwarding,no-user-rc,command="/usr/bin/sudo -n --preserve-env=SSH_ORIGINAL_COMMAND,SSH_CONNECTION -- /usr/bin/node /opt/support-tunnel/session-program.js --tunnel ${record.tunnelId} --log-dir ${h.logDir} --state-dir ${h.deps.settings.stateDir}" ssh-ed25519 `,
        ),
      );
      assert.match(
        user.sudoers!,
        new RegExp(
          `^Defaults>${record.supportUser} log_input, log_output, iolog_flush, iolog_dir="${h.logDir}/sessions/${record.tunnelId}"`,
          "m",
        ),
      );
      assert.deepEqual(h.trusted, [
        "node binary of the session program: /usr/bin/node",
        "session program: /opt/support-tunnel/session-program.js",
      ]);
      assert.deepEqual(await events(record.tunnelId), ["requested", "approved", "connected"]);
    });

    it("records a withdrawn approval, naming who had approved it, once, and forgets that approval", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey, { engineer: "alice" });
      await sut.connect(record.tunnelId);
      h.api.withdraw(record.tunnelId);

      assert.equal(await sut.undoWithdrawn(record.tunnelId), true);
      assert.equal(await sut.undoWithdrawn(record.tunnelId), false, "told once");

      const journal = (await h.journal.read(record.tunnelId))!.events;
      assert.deepEqual(
        journal.map((e) => e.type),
        ["requested", "approved", "connected", "withdrawn"],
      );
      assert.equal((journal[3] as { engineer?: string }).engineer, "alice");
      const kept = (await h.store.read(record.tunnelId))!;
      assert.deepEqual([kept.phase, kept.server, kept.approval], ["requested", null, null]);

      // A new approval then goes on the record after it.
      h.api.approve(record.tunnelId, record.presharedKey, { engineer: "bob" });
      await sut.connect(record.tunnelId);
      assert.deepEqual(await events(record.tunnelId), [
        "requested",
        "approved",
        "connected",
        "withdrawn",
        "approved",
        "connected",
      ]);
    });

    it("records the withdrawal when a new approval came before the device saw the tunnel pending", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey, { engineer: "alice" });
      await sut.connect(record.tunnelId);
      h.api.withdraw(record.tunnelId);
      h.api.approve(record.tunnelId, record.presharedKey, { engineer: "bob" });

      await sut.connect(record.tunnelId);

      const journal = (await h.journal.read(record.tunnelId))!.events;
      assert.deepEqual(
        journal.map((e) =>
          e.type === "withdrawn" || e.type === "approved" ? `${e.type} ${e.engineer}` : e.type,
        ),
        [
          "requested",
          "approved alice",
          "connected",
          "withdrawn alice",
          "approved bob",
          "connected",
        ],
      );
    });

    it("records no withdrawal when the same approval is connected again (a reboot, a crash)", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      await sut.connect(record.tunnelId);
      h.wg.up_.clear(); // the interface is gone, the approval is not
      await sut.connect(record.tunnelId);
      assert.deepEqual(await events(record.tunnelId), [
        "requested",
        "approved",
        "connected",
        "approved",
        "connected",
      ]);
    });

    it("refuses to connect, creating nothing, when the session program is not one only root can change", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      h.deps.assertTrusted = async (file) => {
        throw new DeviceError(`refusing session program ${file}: owned by uid 1000, not 0`);
      };

      await assert.rejects(sut.connect(record.tunnelId), /refusing session program/);

      assert.equal(h.wg.up_.size, 0);
      assert.equal(h.users.users.size, 0);
      assert.equal((await h.store.read(record.tunnelId))!.phase, "requested");
    });

    it("refuses to connect, creating nothing, when the journal cannot be written", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey);
      fs.rmSync(h.logDir, { recursive: true, force: true });
      fs.writeFileSync(h.logDir, "not a directory");

      await assert.rejects(
        sut.connect(record.tunnelId),
        /could not write the journal of tunnel .*; nothing was set up/,
      );

      assert.equal(h.wg.up_.size, 0);
      assert.equal(h.users.users.size, 0);
    });

    it("records a refused approval, and who stopped the tunnel and why", async () => {
      const refused = await requested();
      h.api.approve(refused.tunnelId, refused.presharedKey, { tamper: true });
      await assert.rejects(sut.connect(refused.tunnelId), ApprovalRefusedError);
      await sut.stop(refused.tunnelId, "device", "changed my mind");
      assert.deepEqual(await events(refused.tunnelId), [
        "requested",
        "refused",
        "stopped by customer: changed my mind",
      ]);

      const ended = await requested();
      h.api.approve(ended.tunnelId, ended.presharedKey);
      await sut.connect(ended.tunnelId);
      h.api.end(ended.tunnelId);
      await assert.rejects(sut.connect(ended.tunnelId), NotReadyError);
      assert.deepEqual((await events(ended.tunnelId)).at(-1), "stopped by engineer: done");
      // The record outlives the tunnel: nothing of it is left on the device but its journal.
      assert.equal(await h.store.read(ended.tunnelId), null);
    });
  });

  describe("the customer's choices", () => {
    const hour = 3600_000;

    async function chosen(extra: { notBefore?: Date; ttlSeconds?: number } = {}) {
      return sut.request({ ticket: "ABC-123", allowedEngineers: ["alice", "carol"], ...extra });
    }

    /** Nothing on the machine, and the record still only requested. */
    async function assertNothingCreated(id: string) {
      assert.equal(h.wg.up_.size, 0);
      assert.equal(h.users.users.size, 0);
      assert.equal(h.hooks.calls.length, 0);
      const record = (await h.store.read(id))!;
      assert.equal(record.phase, "requested");
      assert.equal(record.approval, null);
    }

    it("keeps the ticket, start and engineers in its record and tells the api", async () => {
      const start = new Date(h.clock.now() + hour);
      const record = await chosen({ notBefore: start, ttlSeconds: 1800 });

      const stored = (await h.store.read(record.tunnelId))!;
      assert.equal(stored.ticket, "ABC-123");
      assert.equal(stored.notBefore, start.toISOString());
      assert.deepEqual(stored.allowedEngineers, ["alice", "carol"]);
      const sent = h.api.tunnels.get(record.tunnelId)!.request;
      assert.equal(sent.ticket, "ABC-123");
      assert.equal(sent.notBefore, start.toISOString());
      assert.deepEqual(sent.allowedEngineers, ["alice", "carol"]);
      // The grant runs from the start, not from the request.
      assert.equal(Date.parse(stored.grantedUntil), start.getTime() + 1800_000);
    });

    it("sends no choices the customer did not make", async () => {
      const record = await requested();
      const sent = h.api.tunnels.get(record.tunnelId)!.request;
      assert.deepEqual(
        [sent.ticket, sent.notBefore, sent.allowedEngineers],
        [undefined, undefined, undefined],
      );
      assert.deepEqual(
        [record.ticket, record.notBefore, record.allowedEngineers],
        [null, null, null],
      );
    });

    it("refuses an approval by an engineer the customer did not allow, and creates nothing", async () => {
      const record = await chosen();
      h.api.approve(record.tunnelId, record.presharedKey, { engineer: "bob" });

      await assert.rejects(sut.connect(record.tunnelId), (err: unknown) => {
        assert.ok(err instanceof ApprovalRefusedError);
        assert.equal(err.exitCode, ExitCode.Refused);
        assert.equal(err.kind, "engineer");
        assert.equal(
          err.message,
          `refusing the approval of tunnel ${record.tunnelId}: it was approved by bob, and the customer allowed only alice, carol; nothing was set up`,
        );
        return true;
      });
      await assertNothingCreated(record.tunnelId);
    });

    it("refuses an engineer the customer did not allow though the api dropped the customer's list", async () => {
      // A lying api: it never stored the choice, so its views and its own check let anyone in.
      const record = await chosen();
      h.api.tunnels.get(record.tunnelId)!.view.allowedEngineers = null;
      h.api.approve(record.tunnelId, record.presharedKey, { engineer: "mallory" });

      await assert.rejects(sut.connect(record.tunnelId), /approved by mallory/);
      await assertNothingCreated(record.tunnelId);
    });

    for (const [title, ticket] of [
      ["for another ticket", "XYZ-999"],
      ["that names no ticket", undefined],
    ] as const) {
      it(`refuses an approval ${title}, and creates nothing`, async () => {
        const record = await chosen();
        h.api.approve(record.tunnelId, record.presharedKey, { ticket });
        await assert.rejects(
          sut.connect(record.tunnelId),
          new RegExp(
            `it is for ${ticket ? `ticket ${ticket}` : "no ticket"}, and the customer's is ticket ABC-123`,
          ),
        );
        await assertNothingCreated(record.tunnelId);
      });
    }

    it("refuses an approval naming a ticket when the customer gave none", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey, { ticket: "XYZ-999" });
      await assert.rejects(sut.connect(record.tunnelId), /and the customer's is none/);
      await assertNothingCreated(record.tunnelId);
    });

    it("takes an allowed engineer's approval and names them and the ticket on the account, its sudoers file and the record", async () => {
      const record = await chosen();
      h.api.approve(record.tunnelId, record.presharedKey, { engineer: "carol" });

      await sut.connect(record.tunnelId);

      const note = `support-tunnel ${record.tunnelId} for carol (ABC-123)`;
      const user = h.users.users.get(record.supportUser)!;
      assert.equal(user.comment, note);
      assert.ok(user.sudoers!.split("\n")[0]!.endsWith(`: ${note}`), user.sudoers);
      assert.deepEqual((await h.store.read(record.tunnelId))!.approval, {
        engineer: "carol",
        ticket: "ABC-123",
      });
    });

    it("takes anyone's approval when the customer named no engineer, and says whose it was", async () => {
      const record = await requested();
      h.api.approve(record.tunnelId, record.presharedKey, { engineer: "dave" });
      await sut.connect(record.tunnelId);
      assert.equal(
        h.users.users.get(record.supportUser)!.comment,
        `support-tunnel ${record.tunnelId} for dave`,
      );
      assert.deepEqual((await h.store.read(record.tunnelId))!.approval, {
        engineer: "dave",
        ticket: null,
      });
    });

    it("connects nothing before the start though approved, says when it opens, and connects from then on", async () => {
      const start = new Date(h.clock.now() + hour);
      const record = await chosen({ notBefore: start });
      h.api.approve(record.tunnelId, record.presharedKey);

      await assert.rejects(sut.connect(record.tunnelId), (err: unknown) => {
        assert.ok(err instanceof NotYetOpenError);
        assert.equal(err.exitCode, ExitCode.Conflict);
        assert.equal(err.opensAt, start.toISOString());
        assert.match(err.message, new RegExp(`opens at ${start.toISOString()}`));
        return true;
      });
      await assertNothingCreated(record.tunnelId);

      h.clock.time = start.getTime() - 1;
      await assert.rejects(sut.connect(record.tunnelId), NotYetOpenError);
      await assertNothingCreated(record.tunnelId);

      h.clock.time = start.getTime();
      await sut.connect(record.tunnelId);
      assert.ok(h.wg.up_.has(record.interface));
    });

    it("refuses a bad approval before the start as at any time: the refusal comes first", async () => {
      const record = await chosen({ notBefore: new Date(h.clock.now() + hour) });
      h.api.approve(record.tunnelId, record.presharedKey, { engineer: "bob" });
      await assert.rejects(sut.connect(record.tunnelId), ApprovalRefusedError);
      await assertNothingCreated(record.tunnelId);
    });

    it("says when a tunnel opens while it still waits for approval", async () => {
      const start = new Date(h.clock.now() + hour);
      const record = await chosen({ notBefore: start });
      await assert.rejects(
        sut.connect(record.tunnelId),
        new RegExp(`not approved yet \\(state pending\\); it opens at ${start.toISOString()}`),
      );
    });
  });
});
