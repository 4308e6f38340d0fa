// `support engineers` and `support audit` without an id, as the built binary,
// against the real api on PostgreSQL: what an admin sees, the --json shapes, and
// exit code 2 for usage errors (nothing sent), 3 for a role the api refuses.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  SupportApiClient,
  engineerListSchema,
  generateKeyPair,
  auditPageSchema,
  type TunnelId,
} from "@support-tunnel/common";
import { startApiProcess, type ApiProcess } from "@support-tunnel/lab";
import {
  createTestDatabase,
  missingPostgres,
  requirePrerequisite,
  type TestDatabase,
} from "@support-tunnel/testkit";
import { execa } from "execa";

const SUPPORT_BIN = join(__dirname, "bin.js");

describe("support engineers and support audit (the whole log) against the api", function () {
  this.timeout(120_000);
  let db: TestDatabase | undefined;
  let api: ApiProcess | undefined;
  let home: string;
  const adminToken = `ste_${randomBytes(32).toString("base64url")}`;
  let operatorToken: string;
  let tunnelId: TunnelId;
  let carlToken = "";

  before(async function () {
    requirePrerequisite(this, await missingPostgres());
    db = await createTestDatabase();
    api = await startApiProcess({
      databaseUrl: db.url,
      env: { SUPPORT_BOOTSTRAP_TOKEN: adminToken, LOG_LEVEL: "warn" },
    });
    home = await mkdtemp(join(tmpdir(), "support-engineers-"));
    const admin = new SupportApiClient({ baseUrl: api.url, token: adminToken });
    operatorToken = (await admin.createEngineer({ name: "olga", role: "operator" })).token;
    ({ tunnelId } = await new SupportApiClient({ baseUrl: api.url }).createTunnel({
      deviceWgPublicKey: generateKeyPair().publicKey,
      network: "10.62.0.0/30",
    }));
    await new SupportApiClient({ baseUrl: api.url, token: operatorToken }).stopTunnel(
      tunnelId,
      "done",
    );
  });

  after(async () => {
    await api?.stop();
    await db?.drop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** The binary as a script runs it: no terminal, stdin empty. */
  async function support(args: string[], token = adminToken) {
    const r = await execa(process.execPath, [SUPPORT_BIN, ...args], {
      input: "",
      reject: false,
      timeout: 60_000,
      env: {
        HOME: home,
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        SUPPORT_API_URL: api!.url,
        SUPPORT_TOKEN: token,
        SUPPORT_ADMIN_CONFIG: join(home, "admin.json"),
      },
      extendEnv: false,
    });
    return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  async function engineerNames(): Promise<string[]> {
    const r = await support(["engineers", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    return engineerListSchema.parse(JSON.parse(r.stdout)).engineers.map((e) => e.name);
  }

  it("adds an engineer: the token alone on stdout, how to hand it over on stderr; --json the whole answer", async () => {
    const r = await support(["engineers", "add", "carl", "--role", "operator"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ste_[A-Za-z0-9_-]{43}$/);
    assert.match(r.stderr, /shown only now/);
    assert.match(r.stderr, /support login --api URL --with-token/);
    carlToken = r.stdout;
    const carl = new SupportApiClient({ baseUrl: api!.url, token: carlToken });
    assert.deepEqual(await carl.whoami(), { name: "carl", role: "operator" });

    const json = await support(["engineers", "add", "dora", "--role", "viewer", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const answer = JSON.parse(json.stdout) as { name: string; role: string; token: string };
    assert.deepEqual([answer.name, answer.role], ["dora", "viewer"]);
    assert.match(answer.token, /^ste_/);
  });

  it("lists engineers as a table and as {engineers: [...]}, with no token", async () => {
    const table = await support(["engineers"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ENGINEER +ROLE +CREATED +BY +REVOKED$/m);
    assert.match(table.stdout, /^carl +operator +.* engineer:admin +-$/m);
    assert.match(table.stdout, /^admin +admin +.* system +-$/m);
    const json = await support(["engineers", "list", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { engineers: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(parsed), ["engineers"]);
    assert.deepEqual(Object.keys(parsed.engineers[0]!).sort(), [
      "createdAt",
      "createdBy",
      "name",
      "revokedAt",
      "revokedBy",
      "role",
    ]);
    assert.doesNotMatch(json.stdout, /ste_|token/i);
  });

  it("refuses to revoke without --yes when there is no terminal (exit 2), and revokes with it", async () => {
    const refused = await support(["engineers", "revoke", "carl"]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /not revoking carl without confirmation: pass --yes/);
    assert.ok((await engineerNames()).includes("carl"));

    const r = await support(["engineers", "revoke", "carl", "--yes"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^revoked carl$/);
    const table = await support(["engineers"]);
    assert.match(table.stdout, /^carl +operator +.* engineer:admin +.* by engineer:admin$/m);
    const gone = await support(["whoami"], carlToken);
    assert.equal(gone.code, 3, gone.stderr);
  });

  it("exits 2 for a bad name, role or missing --role, and sends nothing", async () => {
    const before = await engineerNames();
    for (const args of [
      ["engineers", "add", "Not A Name", "--role", "viewer"],
      ["engineers", "add", "eve", "--role", "root"],
      ["engineers", "add", "eve"],
      ["engineers", "revoke", "Bad/Name", "--yes"],
      ["engineers", "frobnicate"],
    ]) {
      const r = await support(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    }
    assert.deepEqual(await engineerNames(), before);
  });

  it("exits 3 when an operator lists, adds or revokes engineers, or reads the whole log", async () => {
    for (const args of [
      ["engineers"],
      ["engineers", "add", "eve", "--role", "admin"],
      ["engineers", "revoke", "dora", "--yes"],
      ["audit"],
    ]) {
      const r = await support(args, operatorToken);
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /admin/);
    }
    assert.ok((await engineerNames()).includes("dora"));
  });

  it("shows the whole log newest first, engineer and tunnel events, with relative times", async () => {
    const r = await support(["audit"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0]!, /^WHEN +AT +ACTOR +ACTION +TUNNEL +FROM +DETAIL$/);
    assert.match(lines[1]!, / engineer:admin +engineer\.revoke +- +\S+ +carl$/);
    assert.match(r.stdout, new RegExp(`engineer:olga +tunnel\\.stop +${tunnelId} `));
    assert.match(r.stdout, new RegExp(`device +tunnel\\.request +${tunnelId} `));
    assert.match(r.stdout, /system +engineer\.bootstrap +- +- +admin from/);
    assert.match(lines[1]!, /^(now|\d+ s ago|\d+ min ago) +20\d\d-/);
  });

  it("prints {entries: [...]} under --json, each with its tunnel id, filtered by --engineer", async () => {
    const r = await support(["audit", "--json", "--engineer", "olga"]);
    assert.equal(r.code, 0, r.stderr);
    const parsed = JSON.parse(r.stdout) as unknown;
    assert.deepEqual(Object.keys(parsed as object), ["entries"]);
    const { entries } = auditPageSchema.omit({ nextCursor: true }).parse(parsed);
    assert.deepEqual(
      entries.map((e) => [e.actor, e.action, e.tunnelId]),
      [["engineer:olga", "tunnel.stop", tunnelId]],
    );
  });

  it("shows the newest N with --limit (saying older ones are left out), every one with --all", async () => {
    const all = await support(["audit", "--all", "--json"]);
    const every = (JSON.parse(all.stdout) as { entries: unknown[] }).entries;
    const fromApi = await new SupportApiClient({
      baseUrl: api!.url,
      token: adminToken,
    }).listAllAudit();
    assert.ok(fromApi.length >= 4);
    assert.deepEqual(every, fromApi);
    const two = await support(["audit", "--limit", "2", "--json"]);
    assert.equal(two.code, 0, two.stderr);
    assert.deepEqual((JSON.parse(two.stdout) as { entries: unknown[] }).entries, every.slice(0, 2));
    assert.match(two.stderr, /older entries left out/);
    const engineerOnly = await support(["audit", "--action", "engineer", "--all", "--json"]);
    const actions = (JSON.parse(engineerOnly.stdout) as { entries: { action: string }[] }).entries;
    assert.ok(actions.length >= 2 && actions.every((e) => e.action.startsWith("engineer.")));
  });

  it("exits 2 for bad log flags, and keeps showing one tunnel's trail with an id", async () => {
    for (const args of [
      ["audit", "--limit", "0"],
      ["audit", "--limit", "many"],
      ["audit", "--all", "--limit", "3"],
      ["audit", "--engineer", "Not A Name"],
      ["audit", "--action", "drop table"],
      ["audit", tunnelId, "--all"],
    ]) {
      const r = await support(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    }
    const trail = await support(["audit", tunnelId]);
    assert.equal(trail.code, 0, trail.stderr);
    assert.match(trail.stdout, /^AT +ACTOR +ACTION +FROM +DETAIL$/m);
    assert.match(trail.stdout, /tunnel\.request/);
    assert.match(trail.stdout, /engineer:olga +tunnel\.stop/);
  });
});
