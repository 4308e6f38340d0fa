// Who may help whom, over HTTP on PostgreSQL: customers and their enrollment
// secrets, groups with delegated roles (the whole role matrix), 404 for tunnels
// of customers an engineer does not serve, the approval checked in its own
// transaction, and access that ends (removal, expiry, revocation) ending the
// tunnels it granted, the expiry without anyone asking.
import assert from "node:assert/strict";
import {
  ApiError,
  SupportApiClient,
  TunnelState,
  generateKeyPair,
  type ApproveTunnelRequest,
  type GroupRole,
  type TunnelId,
} from "@support-tunnel/common";
import { eventually, mapLimit, queryDatabase } from "@support-tunnel/testkit";
import { TunnelWatcher } from "./services/tunnel-watcher.service";
import {
  dumpDatabase,
  http,
  requestTestTunnel,
  testApprovalRequest,
  useTestApi,
} from "./testing/test-api";

const GLOBAL_SECRET = "the-fleet-wide-enrollment-secret";

describe("api: customers, groups and access (PostgreSQL)", function () {
  this.timeout(120_000);
  // No safety re-read: whatever wakes a held long-poll here is the change's notification.
  const pg = useTestApi({
    SUPPORT_ENROLLMENT_SECRET: GLOBAL_SECRET,
    SUPPORT_LONG_POLL_REREAD_MS: "3600000",
  });
  let admin: SupportApiClient;
  const tokens = new Map<string, string>();
  const secrets = new Map<string, string>();

  function client(token?: string): SupportApiClient {
    return new SupportApiClient({ baseUrl: pg.sut.url, token, retries: 0 });
  }
  function as(name: string): SupportApiClient {
    const token = tokens.get(name);
    if (!token) throw new Error(`no engineer ${name}`);
    return client(token);
  }

  async function engineer(name: string, role: "viewer" | "operator" | "admin" = "operator") {
    tokens.set(name, (await admin.createEngineer({ name, role })).token);
  }
  async function customer(name: string) {
    secrets.set(name, (await admin.createCustomer(name)).enrollmentSecret);
  }
  /** A group serving `customers`, with `members` added by the admin. */
  async function group(name: string, customers: string[], members: Record<string, GroupRole>) {
    await admin.createGroup(name);
    for (const c of customers) await admin.addGroupCustomer(name, c);
    for (const [who, role] of Object.entries(members)) {
      await admin.addGroupMember(name, { engineer: who, role });
    }
  }

  /** A tunnel of `customerName` (or of no customer, with the global secret). */
  async function requestTunnel(customerName: string | null) {
    const secret = customerName === null ? GLOBAL_SECRET : secrets.get(customerName);
    const t = await requestTestTunnel(pg.sut.url, {}, secret);
    return { id: t.created.tunnelId, device: t.deviceClient };
  }

  /** The api cannot open an approval: any sealed one does for its rules. */
  function approval(tunnelId: TunnelId): ApproveTunnelRequest {
    return testApprovalRequest({ tunnelId }).body;
  }

  /** A running tunnel of `customerName`, approved by `approver`. */
  async function runningTunnel(customerName: string, approver: string) {
    const t = await requestTunnel(customerName);
    await as(approver).approveTunnel(t.id, approval(t.id));
    await t.device.reportConnected("support00c0ffee");
    return t;
  }

  async function refusal(work: Promise<unknown>): Promise<ApiError> {
    try {
      await work;
    } catch (err) {
      if (err instanceof ApiError) return err;
      throw err;
    }
    throw new Error("expected the api to refuse");
  }

  before(async () => {
    admin = client(pg.sut.adminToken);
    tokens.set("admin", pg.sut.adminToken);
  });

  describe("customers", () => {
    before(async () => {
      await engineer("olga");
      await customer("acme");
    });

    it("gives a customer an enrollment secret shown once and stored only as a hash", async () => {
      const secret = secrets.get("acme")!;
      assert.match(secret, /^stc_[A-Za-z0-9_-]{43}$/);
      const dump = await dumpDatabase(pg.db.url);
      assert.ok(dump.includes("acme"));
      assert.ok(!dump.includes(secret), "the secret itself is nowhere in the database");
      const listed = await admin.listCustomers();
      assert.deepEqual(
        listed.customers.map((c) => c.name),
        ["acme"],
      );
      assert.ok(!JSON.stringify(listed).includes(secret));
    });

    it("makes a tunnel requested with the customer's secret that customer's; the global secret makes one of no customer", async () => {
      const mine = await requestTunnel("acme");
      assert.equal((await admin.getTunnel(mine.id)).customer, "acme");
      const global = await requestTunnel(null);
      assert.equal((await admin.getTunnel(global.id)).customer, null);
      const audit = await admin.getAudit(mine.id);
      assert.match(audit.entries[0]!.detail!, /customer acme/);
    });

    it("refuses a wrong or rotated customer secret with 401, and the new one works at once", async () => {
      const wrong = await http(pg.sut.url, "POST", "/v1/device/tunnels", {
        headers: { "x-enrollment-secret": `stc_${"A".repeat(43)}` },
        body: { deviceWgPublicKey: generateKeyPair().publicKey, network: "10.79.200.0/30" },
      });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.message, "wrong enrollment secret");

      const old = secrets.get("acme")!;
      const rotated = await admin.rotateCustomerSecret("acme");
      assert.notEqual(rotated.enrollmentSecret, old);
      secrets.set("acme", rotated.enrollmentSecret);
      const refused = await refusal(
        client().createTunnel(
          { deviceWgPublicKey: generateKeyPair().publicKey, network: "10.79.201.0/30" },
          old,
        ),
      );
      assert.equal(refused.status, 401);
      const t = await requestTunnel("acme");
      assert.equal((await admin.getTunnel(t.id)).customer, "acme");
    });

    it("lets only admins create customers and rotate secrets; a taken name is 409; every change is audited with actor and address", async () => {
      assert.equal((await refusal(as("olga").createCustomer("initech"))).status, 403);
      assert.equal((await refusal(as("olga").rotateCustomerSecret("acme"))).status, 403);
      const taken = await refusal(admin.createCustomer("acme"));
      assert.equal(taken.status, 409);
      assert.equal(taken.message, "customer acme already exists");
      assert.equal((await refusal(admin.rotateCustomerSecret("nobody"))).status, 404);
      const bad = await http(pg.sut.url, "POST", "/v1/customers", {
        token: pg.sut.adminToken,
        body: { name: "Acme Corp" },
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.field, "name");
      const rows = await queryDatabase(
        pg.db.url,
        `SELECT actor, action, detail, client_address FROM audit_entries
          WHERE action LIKE 'customer.%' ORDER BY seq`,
      );
      assert.deepEqual(
        rows.map((r) => [r.actor, r.action, r.detail]),
        [
          ["engineer:admin", "customer.create", "acme"],
          ["engineer:admin", "customer.rotate-secret", "acme"],
        ],
      );
      for (const r of rows) assert.match(String(r.client_address), /127\.0\.0\.1/);
    });
  });

  describe("who sees a tunnel", () => {
    let acmeTunnel: TunnelId;
    let globexTunnel: TunnelId;
    let globalTunnel: TunnelId;

    before(async () => {
      await customer("globex");
      await engineer("sam");
      await engineer("vic", "viewer");
      await group("globex-team", ["globex"], { sam: "member", vic: "member" });
      acmeTunnel = (await requestTunnel("acme")).id;
      globexTunnel = (await requestTunnel("globex")).id;
      globalTunnel = (await requestTunnel(null)).id;
    });

    it("lists only the tunnels of customers one's groups serve, and those of no customer", async () => {
      const seen = (await as("sam").listTunnels()).tunnels.map((t) => t.tunnelId);
      assert.ok(seen.includes(globexTunnel));
      assert.ok(seen.includes(globalTunnel));
      assert.ok(!seen.includes(acmeTunnel));
      const all = (await admin.listTunnels()).tunnels.map((t) => t.tunnelId);
      assert.ok([acmeTunnel, globexTunnel, globalTunnel].every((id) => all.includes(id)));
    });

    it("answers 404 for another customer's tunnel on show, audit, long-poll, approve and stop: the same as for no tunnel", async () => {
      const missing = "00000000-0000-4000-8000-000000000000";
      for (const id of [acmeTunnel, missing]) {
        for (const path of [
          `/v1/tunnels/${id}`,
          `/v1/tunnels/${id}/audit`,
          `/v1/tunnels/${id}?wait=1`,
        ]) {
          const answer = await http(pg.sut.url, "GET", path, { token: tokens.get("sam") });
          assert.equal(answer.status, 404, path);
          assert.equal(answer.body.message, "tunnel not found");
        }
        assert.equal(
          (await refusal(as("sam").approveTunnel(id as TunnelId, approval(id as TunnelId)))).status,
          404,
        );
        assert.equal((await refusal(as("sam").stopTunnel(id as TunnelId))).status, 404);
      }
      assert.equal((await admin.getTunnel(acmeTunnel)).state, TunnelState.Pending);
    });

    it("keeps the global role the ceiling: a viewer in the group sees but cannot approve", async () => {
      assert.equal((await as("vic").getTunnel(globexTunnel)).customer, "globex");
      const err = await refusal(as("vic").approveTunnel(globexTunnel, approval(globexTunnel)));
      assert.equal(err.status, 403);
      assert.equal(err.message, "requires the operator role (vic is viewer)");
      const groupChange = await refusal(
        as("vic").addGroupMember("globex-team", { engineer: "olga", role: "guest" }),
      );
      assert.equal(groupChange.status, 403);
      assert.equal(
        groupChange.message,
        "vic is a viewer: changing a group needs the operator role",
      );
    });
  });

  describe("the role matrix", () => {
    const ROLES: GroupRole[] = ["owner", "gatekeeper", "aclkeeper", "member", "guest"];
    type Who = GroupRole | "outsider" | "admin";
    const WHO: Who[] = [...ROLES, "outsider", "admin"];
    const actor = (who: Who) => (who === "admin" ? "admin" : `m-${who}`);
    let fresh = 0;

    before(async () => {
      await customer("matrix-co");
      for (const who of WHO) if (who !== "admin") await engineer(actor(who));
      await group("matrix", ["matrix-co"], Object.fromEntries(ROLES.map((r) => [actor(r), r])));
    });

    /** Each action on fresh things, so one row's outcome never depends on another's. */
    const ACTIONS: Record<string, (who: Who) => Promise<unknown>> = {
      "see a tunnel": async (who) =>
        as(actor(who)).getTunnel((await requestTunnel("matrix-co")).id),
      approve: async (who) => {
        const { id } = await requestTunnel("matrix-co");
        return as(actor(who)).approveTunnel(id, approval(id));
      },
      stop: async (who) =>
        as(actor(who)).stopTunnel((await runningTunnel("matrix-co", actor("owner"))).id),
      "add a member": async (who) => {
        const name = `t-${fresh++}`;
        await engineer(name);
        return as(actor(who)).addGroupMember("matrix", { engineer: name, role: "member" });
      },
      "add a guest": async (who) => {
        const name = `t-${fresh++}`;
        await engineer(name);
        return as(actor(who)).addGroupMember("matrix", { engineer: name, role: "guest" });
      },
      "add a gatekeeper": async (who) => {
        const name = `t-${fresh++}`;
        await engineer(name);
        return as(actor(who)).addGroupMember("matrix", { engineer: name, role: "gatekeeper" });
      },
      "remove a member": async (who) => {
        const name = `t-${fresh++}`;
        await engineer(name);
        await admin.addGroupMember("matrix", { engineer: name, role: "member" });
        return as(actor(who)).removeGroupMember("matrix", name);
      },
      "remove an aclkeeper": async (who) => {
        const name = `t-${fresh++}`;
        await engineer(name);
        await admin.addGroupMember("matrix", { engineer: name, role: "aclkeeper" });
        return as(actor(who)).removeGroupMember("matrix", name);
      },
      "add a customer": async (who) => {
        const name = `c-${fresh++}`;
        await customer(name);
        return as(actor(who)).addGroupCustomer("matrix", name);
      },
      "remove a customer": async (who) => {
        const name = `c-${fresh++}`;
        await customer(name);
        await admin.addGroupCustomer("matrix", name);
        return as(actor(who)).removeGroupCustomer("matrix", name);
      },
      "show the group": async (who) => as(actor(who)).getGroup("matrix"),
    };

    // ok, or the status of the refusal.
    const EXPECTED: Record<string, Record<Who, "ok" | 403 | 404>> = {
      "see a tunnel": {
        owner: "ok",
        gatekeeper: "ok",
        aclkeeper: "ok",
        member: "ok",
        guest: "ok",
        outsider: 404,
        admin: "ok",
      },
      approve: {
        owner: "ok",
        gatekeeper: 403,
        aclkeeper: 403,
        member: "ok",
        guest: "ok",
        outsider: 404,
        admin: 403,
      },
      stop: {
        owner: "ok",
        gatekeeper: 403,
        aclkeeper: 403,
        member: "ok",
        guest: "ok",
        outsider: 404,
        admin: "ok",
      },
      "add a member": {
        owner: "ok",
        gatekeeper: "ok",
        aclkeeper: 403,
        member: 403,
        guest: 403,
        outsider: 403,
        admin: "ok",
      },
      "add a guest": {
        owner: "ok",
        gatekeeper: "ok",
        aclkeeper: 403,
        member: 403,
        guest: 403,
        outsider: 403,
        admin: "ok",
      },
      "add a gatekeeper": {
        owner: "ok",
        gatekeeper: 403,
        aclkeeper: 403,
        member: 403,
        guest: 403,
        outsider: 403,
        admin: "ok",
      },
      "remove a member": {
        owner: "ok",
        gatekeeper: "ok",
        aclkeeper: 403,
        member: 403,
        guest: 403,
        outsider: 403,
        admin: "ok",
      },
      "remove an aclkeeper": {
        owner: "ok",
        gatekeeper: 403,
        aclkeeper: 403,
        member: 403,
        guest: 403,
        outsider: 403,
        admin: "ok",
      },
      "add a customer": {
        owner: "ok",
        gatekeeper: 403,
        aclkeeper: "ok",
        member: 403,
        guest: 403,
        outsider: 403,
        admin: "ok",
      },
      "remove a customer": {
        owner: "ok",
        gatekeeper: 403,
        aclkeeper: "ok",
        member: 403,
        guest: 403,
        outsider: 403,
        admin: "ok",
      },
      "show the group": {
        owner: "ok",
        gatekeeper: "ok",
        aclkeeper: "ok",
        member: "ok",
        guest: "ok",
        outsider: 404,
        admin: "ok",
      },
    };

    for (const [action, expected] of Object.entries(EXPECTED)) {
      it(`${action}: ${WHO.map((w) => `${w} ${expected[w]}`).join(", ")}`, async () => {
        const got: Record<string, "ok" | number> = {};
        for (const who of WHO) {
          try {
            await ACTIONS[action]!(who);
            got[who] = "ok";
          } catch (err) {
            if (!(err instanceof ApiError)) throw err;
            got[who] = err.status;
          }
        }
        assert.deepEqual(got, expected);
      });
    }

    it("names the missing role in a refusal", async () => {
      const t = await requestTunnel("matrix-co");
      const approve = await refusal(as(actor("gatekeeper")).approveTunnel(t.id, approval(t.id)));
      assert.equal(
        approve.message,
        "m-gatekeeper has no owner, member or guest role in a group serving matrix-co",
      );
      const member = await refusal(
        as(actor("member")).addGroupMember("matrix", { engineer: "olga", role: "guest" }),
      );
      assert.equal(member.message, "m-member is not a gatekeeper of matrix");
      const owner = await refusal(
        as(actor("gatekeeper")).addGroupMember("matrix", { engineer: "olga", role: "owner" }),
      );
      assert.equal(owner.message, "m-gatekeeper is not an owner of matrix");
      const acl = await refusal(as(actor("guest")).addGroupCustomer("matrix", "acme"));
      assert.equal(acl.message, "m-guest is not an aclkeeper of matrix");
      // A gatekeeper cannot turn an owner into a member either.
      const demote = await refusal(
        as(actor("gatekeeper")).addGroupMember("matrix", {
          engineer: actor("owner"),
          role: "member",
        }),
      );
      assert.equal(demote.message, "m-gatekeeper is not an owner of matrix");
    });

    it("refuses an expiry for roles that do not expire, one in the past, and an unknown engineer", async () => {
      const future = new Date(pg.sut.clock.now().getTime() + 86400_000).toISOString();
      const owner = await refusal(
        admin.addGroupMember("matrix", { engineer: "olga", role: "owner", expiresAt: future }),
      );
      assert.equal(owner.status, 400);
      assert.equal(owner.field, "expiresAt");
      const past = new Date(pg.sut.clock.now().getTime() - 1000).toISOString();
      const before = await refusal(
        admin.addGroupMember("matrix", { engineer: "olga", role: "guest", expiresAt: past }),
      );
      assert.equal(before.message, "must be in the future");
      const nobody = await refusal(
        admin.addGroupMember("matrix", { engineer: "nobody", role: "guest" }),
      );
      assert.equal(nobody.status, 404);
      assert.equal(nobody.message, "engineer nobody not found");
      assert.ok(!(await admin.getGroup("matrix")).members.some((m) => m.engineer === "olga"));
    });
  });

  describe("access that ends", () => {
    before(async () => {
      await customer("initech");
      await engineer("gail");
      await engineer("mo");
      await engineer("gus");
      await group("initech-team", ["initech"], { gail: "gatekeeper", mo: "member" });
    });

    it("removing a member ends the live tunnels they approved (access-removed), audited with the remover and address", async () => {
      const t = await runningTunnel("initech", "mo");
      await as("gail").removeGroupMember("initech-team", "mo");
      const view = await admin.getTunnel(t.id);
      assert.equal(view.state, TunnelState.Completed);
      assert.equal(view.stoppedBy, "engineer");
      assert.equal(view.stopReason, "access-removed");
      const own = await t.device.getDeviceTunnel();
      assert.equal(own.state, TunnelState.Completed);
      assert.equal(own.stopReason, "access-removed");
      assert.equal((await refusal(as("mo").getTunnel(t.id))).status, 404);
      const audit = await admin.getAudit(t.id);
      const stop = audit.entries.at(-1)!;
      assert.equal(stop.action, "tunnel.stop");
      assert.equal(stop.actor, "engineer:gail");
      assert.equal(stop.detail, "access-removed: mo no longer has access");
      assert.match(stop.clientAddress ?? "", /127\.0\.0\.1/);
      const [removal] = await queryDatabase(
        pg.db.url,
        `SELECT actor, detail, client_address FROM audit_entries WHERE action = 'group.member.remove' ORDER BY seq DESC LIMIT 1`,
      );
      assert.deepEqual(
        [removal?.actor, removal?.detail],
        ["engineer:gail", "mo (member) from initech-team"],
      );
    });

    it("wakes the device's held long-poll with the end when the approver is removed", async () => {
      await admin.addGroupMember("initech-team", { engineer: "mo", role: "member" });
      const t = await runningTunnel("initech", "mo");
      const held = t.device.getDeviceTunnel({ waitSeconds: 30, since: TunnelState.Running });
      // Held, so only a wake-up can answer it before its time.
      const watcher = pg.sut.api.app.get(TunnelWatcher);
      await eventually(() => assert.equal(watcher.waiting, 1));
      await as("gail").removeGroupMember("initech-team", "mo");
      // Unwoken, it would answer only after its 30 s; the 20 s is a hang guard, as in
      // long-poll.int.spec.ts, not a timing claim.
      let guard: NodeJS.Timeout | undefined;
      const answer = await Promise.race([
        held,
        new Promise<never>((_, reject) => {
          guard = setTimeout(() => reject(new Error("the held long-poll was not woken")), 20_000);
        }),
      ]).finally(() => clearTimeout(guard));
      assert.equal(answer.state, TunnelState.Completed);
      assert.equal(answer.stopReason, "access-removed");
    });

    it("leaves alone tunnels the removed engineer still has access to through another group", async () => {
      await admin.addGroupMember("initech-team", { engineer: "mo", role: "member" });
      await group("initech-backup", ["initech"], { mo: "guest" });
      const t = await runningTunnel("initech", "mo");
      await as("gail").removeGroupMember("initech-team", "mo");
      assert.equal((await admin.getTunnel(t.id)).state, TunnelState.Running);
      await admin.removeGroupMember("initech-backup", "mo");
      assert.equal((await admin.getTunnel(t.id)).stopReason, "access-removed");
    });

    it("removing a customer from the group ends its tunnels approved through that group", async () => {
      await admin.addGroupMember("initech-team", { engineer: "mo", role: "member" });
      const t = await runningTunnel("initech", "mo");
      await admin.removeGroupCustomer("initech-team", "initech");
      assert.equal((await admin.getTunnel(t.id)).stopReason, "access-removed");
      await admin.addGroupCustomer("initech-team", "initech");
    });

    it("revoking an engineer ends every live tunnel they approved, of a customer or of none", async () => {
      await admin.addGroupMember("initech-team", { engineer: "gus", role: "member" });
      const mine = await runningTunnel("initech", "gus");
      const global = await requestTunnel(null);
      await as("gus").approveTunnel(global.id, approval(global.id));
      await admin.revokeEngineer("gus");
      for (const id of [mine.id, global.id]) {
        const view = await admin.getTunnel(id);
        assert.equal(view.state, TunnelState.Completed);
        assert.equal(view.stopReason, "access-removed");
      }
      assert.ok(!(await admin.getGroup("initech-team")).members.some((m) => m.engineer === "gus"));
    });

    it("an approval racing the approver's removal never leaves a live tunnel without access", async () => {
      for (let round = 0; round < 8; round++) {
        await admin.addGroupMember("initech-team", { engineer: "mo", role: "member" });
        const t = await requestTunnel("initech");
        const [approved] = await Promise.allSettled([
          as("mo").approveTunnel(t.id, approval(t.id)),
          as("gail").removeGroupMember("initech-team", "mo"),
        ]);
        const view = await admin.getTunnel(t.id);
        if (approved.status === "fulfilled") {
          assert.equal(view.state, TunnelState.Completed, `round ${round}: approved, then cut`);
          assert.equal(view.stopReason, "access-removed");
        } else {
          assert.ok(approved.reason instanceof ApiError);
          assert.ok(
            [403, 404].includes(approved.reason.status),
            `round ${round}: ${approved.reason.message}`,
          );
          assert.equal(view.state, TunnelState.Pending);
        }
      }
    });
  });

  describe("two engineers in different groups racing on tunnels of their own customers", () => {
    before(async () => {
      await customer("north");
      await customer("south");
      await engineer("nina");
      await engineer("sven");
      await group("north-team", ["north"], { nina: "member" });
      await group("south-team", ["south"], { sven: "member" });
    });

    it("each takes every tunnel of their own customer and none of the other's", async () => {
      const north = await Promise.all([1, 2, 3].map(() => requestTunnel("north")));
      const south = await Promise.all([1, 2, 3].map(() => requestTunnel("south")));
      const attempts = [...north, ...south].flatMap((t) =>
        ["nina", "sven"].map((who) => ({ who, id: t.id })),
      );
      const outcomes = await mapLimit(attempts, attempts.length, async ({ who, id }) => {
        try {
          await as(who).approveTunnel(id, approval(id));
          return `${who} ok`;
        } catch (err) {
          if (err instanceof ApiError) return `${who} ${err.status}`;
          throw err;
        }
      });
      assert.deepEqual(
        outcomes,
        attempts.map(({ who, id }) =>
          north.some((t) => t.id === id) === (who === "nina") ? `${who} ok` : `${who} 404`,
        ),
      );
      for (const t of north) assert.equal((await admin.getTunnel(t.id)).approvedBy, "nina");
      for (const t of south) assert.equal((await admin.getTunnel(t.id)).approvedBy, "sven");
    });
  });
});

describe("api: a guest's access ends by itself (PostgreSQL)", function () {
  this.timeout(60_000);
  // The sweep runs every 200 ms here, as it does in production every few seconds.
  const pg = useTestApi({ SUPPORT_SWEEP_INTERVAL_MS: "200" });

  it("ends the guest's membership and the tunnel they approved without any request", async () => {
    const admin = new SupportApiClient({
      baseUrl: pg.sut.url,
      token: pg.sut.adminToken,
      retries: 0,
    });
    const guestToken = (await admin.createEngineer({ name: "cora", role: "operator" })).token;
    const secret = (await admin.createCustomer("acme")).enrollmentSecret;
    await admin.createGroup("acme-team");
    await admin.addGroupCustomer("acme-team", "acme");
    const until = new Date(pg.sut.clock.now().getTime() + 3600_000);
    await admin.addGroupMember("acme-team", {
      engineer: "cora",
      role: "guest",
      expiresAt: until.toISOString(),
    });
    const { created } = await requestTestTunnel(pg.sut.url, { ttlSeconds: 86400 }, secret);
    const guest = new SupportApiClient({ baseUrl: pg.sut.url, token: guestToken, retries: 0 });
    await guest.approveTunnel(created.tunnelId, testApprovalRequest(created).body);

    // An hour and a second later (the tunnel has a day left), with no one asking the api anything:
    pg.sut.clock.advance(3601);
    const [ended] = await eventually(async () => {
      const rows = await queryDatabase(
        pg.db.url,
        "SELECT state, stopped_by, stop_reason FROM tunnels WHERE id = $1",
        [created.tunnelId],
      );
      assert.equal(rows[0]?.stop_reason, "access-removed");
      return rows;
    }, 20_000);
    assert.deepEqual(ended, { state: 50, stopped_by: "expiry", stop_reason: "access-removed" });
    assert.deepEqual(await queryDatabase(pg.db.url, "SELECT * FROM group_members"), []);
    const actions = await queryDatabase(
      pg.db.url,
      "SELECT actor, action, detail FROM audit_entries WHERE action IN ('group.member.expire', 'tunnel.stop') ORDER BY seq",
    );
    assert.deepEqual(actions, [
      { actor: "system", action: "group.member.expire", detail: "cora (guest) from acme-team" },
      { actor: "system", action: "tunnel.stop", detail: "access-removed: cora's access expired" },
    ]);
  });
});

describe("api: the fleet view (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestApi();
  const DEVICE = "7d6f1e2a-3b4c-4d5e-8f60-718293a4b5c6";

  function client(token?: string): SupportApiClient {
    return new SupportApiClient({ baseUrl: pg.sut.url, token, retries: 0 });
  }
  function device(id: string, token?: string): SupportApiClient {
    return new SupportApiClient({
      baseUrl: pg.sut.url,
      token,
      retries: 0,
      headers: async () => ({ "x-device-id": id }),
    });
  }

  it("lists the devices an engineer may see with customer, hostname, last request and live tunnel", async () => {
    const admin = client(pg.sut.adminToken);
    const mia = client((await admin.createEngineer({ name: "mia", role: "operator" })).token);
    const otto = client((await admin.createEngineer({ name: "otto", role: "operator" })).token);
    const acme = (await admin.createCustomer("acme")).enrollmentSecret;
    const globex = (await admin.createCustomer("globex")).enrollmentSecret;
    await admin.createGroup("acme-team");
    await admin.addGroupCustomer("acme-team", "acme");
    await admin.addGroupMember("acme-team", { engineer: "mia", role: "member" });

    const created = await device(DEVICE).createTunnel(
      {
        deviceWgPublicKey: generateKeyPair().publicKey,
        network: "10.81.0.0/30",
        hostname: "till-3",
      },
      acme,
    );
    const seen = await mia.listDevices();
    assert.deepEqual(seen.devices, [
      {
        deviceId: DEVICE,
        customer: "acme",
        hostname: "till-3",
        lastRequestAt: pg.sut.clock.now().toISOString(),
        liveTunnel: created.tunnelId,
      },
    ]);
    assert.deepEqual((await otto.listDevices()).devices, [], "otto serves no customer");
    assert.deepEqual((await admin.listDevices("acme")).devices.length, 1);
    assert.equal((await refusal(otto.listDevices("acme"))).status, 404);

    // Each request with the device token is its last request.
    pg.sut.clock.advance(60);
    await device(DEVICE, created.token).getDeviceTunnel();
    const [later] = (await mia.listDevices()).devices;
    assert.equal(later?.lastRequestAt, pg.sut.clock.now().toISOString());

    // The tunnel ends: the device stays, with no live tunnel.
    await device(DEVICE, created.token).stopDeviceTunnel();
    assert.equal((await mia.listDevices()).devices[0]?.liveTunnel, null);

    // Another customer's device cannot take this identity.
    const hijack = await refusal(
      device(DEVICE).createTunnel(
        { deviceWgPublicKey: generateKeyPair().publicKey, network: "10.81.0.4/30" },
        globex,
      ),
    );
    assert.equal(hijack.status, 409);
    assert.equal(hijack.message, `device ${DEVICE} is enrolled with another customer`);
    assert.equal((await admin.listDevices("acme")).devices[0]?.customer, "acme");

    const bad = await http(pg.sut.url, "POST", "/v1/device/tunnels", {
      headers: { "x-device-id": "not-a-uuid" },
      body: { deviceWgPublicKey: generateKeyPair().publicKey, network: "10.81.0.8/30" },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, "x-device-id");
  });

  async function refusal(work: Promise<unknown>): Promise<ApiError> {
    try {
      await work;
    } catch (err) {
      if (err instanceof ApiError) return err;
      throw err;
    }
    throw new Error("expected the api to refuse");
  }
});
