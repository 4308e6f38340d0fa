// Admins' view of the organization over HTTP on PostgreSQL: every engineer
// (revoked ones too, never a token) and the whole audit log, tunnel and
// organization events together, newest first, paged without loss or repeat.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  ApiError,
  SupportApiClient,
  generateKeyPair,
  type AuditEntry,
  type TunnelId,
} from "@support-tunnel/common";
import { DataSource } from "typeorm";
import { MIGRATIONS, dataSourceOptions, runMigrations } from "./database/database";
import { EngineersAndAudit1797100000000 } from "./migrations/1797100000000-EngineersAndAudit";
import { hashToken } from "./services/tokens";
import { http, useTestApi, useTestDatabase } from "./testing/test-api";

describe("api: engineers and the whole audit log (PostgreSQL)", function () {
  this.timeout(120_000);
  const pg = useTestApi();
  let admin: SupportApiClient;
  const tokens = new Map<string, string>();
  let tunnelId: TunnelId;

  function client(token?: string): SupportApiClient {
    return new SupportApiClient({ baseUrl: pg.sut.url, token, retries: 0 });
  }
  function as(name: string): SupportApiClient {
    return client(tokens.get(name));
  }
  /** The next change happens a second later, so times tell the order too. */
  function later(): void {
    pg.sut.clock.advance(1);
  }

  before(async () => {
    admin = client(pg.sut.adminToken);
    for (const [name, role] of [
      ["alice", "admin"],
      ["olga", "operator"],
      ["vera", "viewer"],
      ["gone", "operator"],
    ] as const) {
      later();
      tokens.set(name, (await admin.createEngineer({ name, role })).token);
    }
    later();
    await as("alice").createCustomer("acme");
    later();
    await as("alice").createGroup("acme-team");
    later();
    await as("alice").addGroupCustomer("acme-team", "acme");
    later();
    await as("alice").addGroupMember("acme-team", { engineer: "olga", role: "member" });
    later();
    ({ tunnelId } = await client().createTunnel({
      deviceWgPublicKey: generateKeyPair().publicKey,
      network: "10.61.0.0/30",
    }));
    later();
    await as("olga").stopTunnel(tunnelId, "not needed after all");
    later();
    await as("alice").removeGroupMember("acme-team", "olga");
    later();
    await as("alice").rotateCustomerSecret("acme");
    later();
    await as("alice").revokeEngineer("gone");
  });

  it("shows an admin engineer and tunnel events together, newest first, each with actor and address", async () => {
    const { entries, nextCursor } = await as("alice").listAudit();
    assert.equal(nextCursor, null);
    const actions = entries.map((e) => e.action);
    assert.deepEqual(actions.slice(0, 9), [
      "engineer.revoke",
      "customer.rotate-secret",
      "group.member.remove",
      "tunnel.stop",
      "tunnel.request",
      "group.member.add",
      "group.customer.add",
      "group.create",
      "customer.create",
    ]);
    assert.deepEqual(actions.slice(9), [
      "engineer.create",
      "engineer.create",
      "engineer.create",
      "engineer.create",
      "engineer.bootstrap",
    ]);
    const times = entries.map((e) => Date.parse(e.at));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );
    const revoke = entries[0]!;
    assert.deepEqual(
      [revoke.actor, revoke.detail, revoke.tunnelId],
      ["engineer:alice", "gone", null],
    );
    assert.equal(entries.find((e) => e.action === "tunnel.stop")?.tunnelId, tunnelId);
    // Every change an engineer made over HTTP says from where.
    for (const e of entries.filter((x) => x.actor.startsWith("engineer:"))) {
      assert.ok(e.clientAddress, `${e.action} has an address`);
    }
    // The same view as a tunnel's own trail.
    const trail = await as("alice").getAudit(tunnelId);
    assert.deepEqual(
      entries.filter((e) => e.tunnelId === tunnelId).reverse(),
      trail.entries satisfies AuditEntry[],
    );
  });

  it("pages without losing or repeating an entry, even when entries are added between pages", async () => {
    const everything = (await as("alice").listAudit({ limit: 500 })).entries.map((e) => e.id);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await as("alice").listAudit({ limit: 4, cursor });
      seen.push(...page.entries.map((e) => e.id));
      pages++;
      // Newer entries go to the top, never into a later page.
      if (pages === 1) await admin.createEngineer({ name: `late${pages}`, role: "viewer" });
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    assert.equal(pages, Math.ceil(everything.length / 4));
    assert.deepEqual(seen, everything);
    const all = await as("alice").listAllAudit({ limit: 3 });
    assert.equal(all.length, everything.length + 1);
    assert.equal(new Set(all.map((e) => e.id)).size, all.length);
    assert.equal(all[0]!.action, "engineer.create");
  });

  it("orders entries of the same instant by when they were written", async () => {
    // Without advancing the clock: three changes at one time, one page each.
    for (const name of ["same1", "same2", "same3"]) {
      await admin.createEngineer({ name, role: "viewer" });
    }
    const one = await as("alice").listAudit({ limit: 1 });
    const two = await as("alice").listAudit({ limit: 1, cursor: one.nextCursor! });
    const three = await as("alice").listAudit({ limit: 1, cursor: two.nextCursor! });
    assert.deepEqual(
      [one, two, three].map((p) => p.entries[0]!.detail),
      ["same3 as viewer", "same2 as viewer", "same1 as viewer"],
    );
  });

  it("filters by engineer, tunnel and action (or a family of actions)", async () => {
    const byOlga = (await as("alice").listAudit({ engineer: "olga" })).entries;
    assert.deepEqual(
      byOlga.map((e) => [e.actor, e.action]),
      [["engineer:olga", "tunnel.stop"]],
    );
    const ofTunnel = (await as("alice").listAudit({ tunnel: tunnelId })).entries;
    assert.deepEqual(
      ofTunnel.map((e) => e.action),
      ["tunnel.stop", "tunnel.request"],
    );
    const engineerEvents = (await as("alice").listAudit({ action: "engineer" })).entries;
    assert.ok(engineerEvents.length >= 6);
    assert.ok(engineerEvents.every((e) => e.action.startsWith("engineer.")));
    const members = (await as("alice").listAudit({ action: "group.member" })).entries;
    assert.deepEqual(
      members.map((e) => e.action),
      ["group.member.remove", "group.member.add"],
    );
    const revokes = (await as("alice").listAudit({ action: "engineer.revoke", engineer: "alice" }))
      .entries;
    assert.deepEqual(
      revokes.map((e) => e.detail),
      ["gone"],
    );
    assert.deepEqual((await as("alice").listAudit({ engineer: "nobody" })).entries, []);
  });

  it("refuses the log and the engineers to operators and viewers (403), and to no token (401)", async () => {
    for (const name of ["olga", "vera"]) {
      for (const call of [() => as(name).listAudit(), () => as(name).listEngineers()]) {
        await assert.rejects(call(), (err: ApiError) => err.status === 403);
      }
    }
    assert.equal((await http(pg.sut.url, "GET", "/v1/audit")).status, 401);
    assert.equal((await http(pg.sut.url, "GET", "/v1/engineers")).status, 401);
  });

  it("refuses a bad parameter with 400 naming the field", async () => {
    for (const [query, field] of [
      ["cursor=bm90LWEtY3Vyc29y", "cursor"],
      ["cursor=%5B%5D", "cursor"],
      ["limit=0", "limit"],
      ["limit=501", "limit"],
      ["limit=ten", "limit"],
      ["engineer=Not%20A%20Name", "engineer"],
      ["engineer=a&engineer=b", "engineer"],
      ["tunnel=not-a-uuid", "tunnel"],
      ["action=DROP%20TABLE", "action"],
      ["action=engineer.", "action"],
    ] as const) {
      const answer = await http(pg.sut.url, "GET", `/v1/audit?${query}`, {
        token: pg.sut.adminToken,
      });
      assert.equal(answer.status, 400, query);
      assert.equal(answer.body.field, field, query);
    }
  });

  it("lists every engineer with role, creator and revocation, and no token material", async () => {
    const { engineers } = await as("alice").listEngineers();
    const byName = new Map(engineers.map((e) => [e.name, e]));
    assert.deepEqual(
      ["admin", "alice", "olga", "vera"].map((n) => [
        byName.get(n)?.role,
        byName.get(n)?.createdBy,
        byName.get(n)?.revokedAt,
      ]),
      [
        ["admin", "system", null],
        ["admin", "engineer:admin", null],
        ["operator", "engineer:admin", null],
        ["viewer", "engineer:admin", null],
      ],
    );
    const gone = byName.get("gone");
    assert.equal(gone?.role, "operator");
    assert.equal(gone?.revokedBy, "engineer:alice");
    assert.ok(gone?.revokedAt && Date.parse(gone.revokedAt) > Date.parse(gone.createdAt));
    // Those whose token works come first; the revoked after them.
    assert.equal(engineers[engineers.length - 1]!.name, "gone");
    const raw = JSON.stringify(
      (await http(pg.sut.url, "GET", "/v1/engineers", { token: pg.sut.adminToken })).body,
    );
    for (const token of [pg.sut.adminToken, ...tokens.values()]) {
      assert.ok(!raw.includes(token), "no token");
      assert.ok(!raw.includes(hashToken(token)), "no token hash");
    }
    assert.doesNotMatch(raw, /ste_|token|hash/i);
  });
});

describe("api: migration 1797100000000 on a database from before it (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestDatabase();

  it("names the creator of engineers made before, as the audit log recorded it", async () => {
    const options = dataSourceOptions({ databaseUrl: pg.db.url, dataDir: "" });
    // The migrations up to this one: later ones must not change what it is tested on.
    const upTo = MIGRATIONS.indexOf(EngineersAndAudit1797100000000);
    const before = new DataSource({ ...options, migrations: MIGRATIONS.slice(0, upTo) });
    await before.initialize();
    try {
      await before.runMigrations();
      const at = new Date("2030-01-01T09:00:00Z");
      for (const [name, role] of [
        ["admin", "admin"],
        ["alice", "operator"],
        ["nobody", "viewer"],
      ]) {
        await before.query(
          `INSERT INTO engineers (id, name, role, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
          [randomUUID(), name, role, `hash-${name}`, at],
        );
      }
      for (const [actor, action, detail] of [
        ["system", "engineer.bootstrap", "admin from SUPPORT_BOOTSTRAP_TOKEN"],
        ["engineer:admin", "engineer.create", "alice as viewer"],
        ["cli", "engineer.create", "alice as operator"],
      ]) {
        await before.query(
          `INSERT INTO audit_entries (id, tunnel_id, actor, action, detail, client_address, at)
           VALUES ($1, NULL, $2, $3, $4, NULL, $5)`,
          [randomUUID(), actor, action, detail, at],
        );
      }
    } finally {
      await before.destroy();
    }
    const after = new DataSource({ ...options, migrations: MIGRATIONS.slice(0, upTo + 1) });
    await after.initialize();
    try {
      assert.deepEqual(await runMigrations(after), ["EngineersAndAudit1797100000000"]);
      const rows = await after.query<{ name: string; created_by: string | null }[]>(
        `SELECT name, created_by FROM engineers ORDER BY name`,
      );
      // alice was created twice (revoked between): the later creation counts.
      assert.deepEqual(rows, [
        { name: "admin", created_by: "system" },
        { name: "alice", created_by: "cli" },
        { name: "nobody", created_by: null },
      ]);
    } finally {
      await after.destroy();
    }
  });
});
