import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseExpiry } from "./commands/access";
import { runSupport } from "./test/run-support";

/** A stand-in api: records each request and answers from `answer`. */
function fakeApi(answer: (req: IncomingMessage, body: string) => [number, unknown]) {
  const seen: { method: string; url: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", body });
      const [status, json] = answer(req, body);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    });
  });
  return { server, seen };
}

const GROUP = {
  name: "acme-team",
  createdAt: "2030-01-01T00:00:00.000Z",
  members: [
    {
      engineer: "carol",
      role: "guest",
      expiresAt: "2030-01-08T00:00:00.000Z",
      addedAt: "2030-01-01T00:00:00.000Z",
    },
  ],
  customers: ["acme"],
};

describe("support: the access commands", () => {
  let dir: string;
  let api: ReturnType<typeof fakeApi>;
  let respond: (req: IncomingMessage, body: string) => [number, unknown];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "support-access-cli-"));
    respond = () => [200, GROUP];
    api = fakeApi((req, body) => respond(req, body));
    await new Promise<void>((resolve) => api.server.listen(0, "127.0.0.1", resolve));
    const port = (api.server.address() as AddressInfo).port;
    await writeFile(
      join(dir, "admin.json"),
      JSON.stringify({ apiUrl: `http://127.0.0.1:${port}`, token: `ste_${"t".repeat(43)}` }),
      { mode: 0o600 },
    );
  });
  afterEach(async () => {
    await new Promise((resolve) => api.server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const run = (...args: string[]) =>
    runSupport({ HOME: dir, SUPPORT_ADMIN_CONFIG: join(dir, "admin.json") }, ...args);

  it("adds a guest for a week and shows the group, in text and in --json", async () => {
    const r = await run(
      "group",
      "add-member",
      "acme-team",
      "carol",
      "--role",
      "guest",
      "--expires",
      "7d",
    );
    assert.equal(r.code, 0, r.stderr);
    const sent = JSON.parse(api.seen[0]!.body) as {
      engineer: string;
      role: string;
      expiresAt: string;
    };
    assert.equal(api.seen[0]!.url, "/v1/groups/acme-team/members");
    assert.deepEqual([sent.engineer, sent.role], ["carol", "guest"]);
    const days = (Date.parse(sent.expiresAt) - Date.now()) / 86400_000;
    assert.ok(days > 6.99 && days <= 7, `expires in ${days} days`);
    assert.match(r.stdout, /^customers: acme$/m);
    assert.match(r.stdout, /^carol +guest +2030-01-08T00:00:00\.000Z/m);
    const json = await run("groups", "show", "acme-team", "--json");
    assert.deepEqual(JSON.parse(json.stdout), GROUP);
  });

  it("says what access is missing, as the api names it, with exit code 3", async () => {
    respond = () => [403, { statusCode: 403, message: "bob is not a gatekeeper of acme-team" }];
    const r = await run("group", "remove-member", "acme-team", "carol");
    assert.equal(r.code, 3);
    assert.match(r.stderr, /bob is not a gatekeeper of acme-team/);
  });

  it("refuses a bad role, expiry or name before asking the api, with exit code 2", async () => {
    const role = await run("group", "add-member", "acme-team", "carol", "--role", "root");
    assert.equal(role.code, 2);
    assert.match(role.stderr, /Allowed choices are owner, gatekeeper, aclkeeper, member, guest/);
    const noRole = await run("group", "add-member", "acme-team", "carol");
    assert.equal(noRole.code, 2);
    const expiry = await run(
      "group",
      "add-member",
      "acme-team",
      "carol",
      "--role",
      "guest",
      "--expires",
      "soon",
    );
    assert.equal(expiry.code, 2);
    assert.match(expiry.stderr, /--expires must be a duration/);
    const name = await run("customers", "create", "Acme Corp");
    assert.equal(name.code, 2);
    assert.match(name.stderr, /customer: must be 2 to 32 lowercase letters/);
    assert.deepEqual(api.seen, []);
  });

  it("prints a new customer's secret on stdout alone, and where it goes on stderr", async () => {
    const secret = `stc_${"s".repeat(43)}`;
    respond = () => [201, { name: "acme", enrollmentSecret: secret }];
    const r = await run("customers", "create", "acme");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${secret}\n`);
    assert.match(r.stderr, /enrollmentSecret/);
  });

  it("lists devices with their customer, hostname, last request and live tunnel", async () => {
    respond = () => [
      200,
      {
        devices: [
          {
            deviceId: "7d6f1e2a-3b4c-4d5e-8f60-718293a4b5c6",
            customer: "acme",
            hostname: "till-3",
            lastRequestAt: "2030-01-01T00:00:00.000Z",
            liveTunnel: null,
          },
        ],
      },
    ];
    const r = await run("devices", "--customer", "acme");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(api.seen[0]!.url, "/v1/devices?customer=acme");
    assert.match(
      r.stdout,
      /^7d6f1e2a-3b4c-4d5e-8f60-718293a4b5c6 +acme +till-3 +2030-01-01T00:00:00\.000Z +-$/m,
    );
  });

  it("prints help for every access command with exit code 0", async () => {
    for (const cmd of [
      ["customers"],
      ["customers", "create"],
      ["customers", "rotate-secret"],
      ["groups"],
      ["groups", "create"],
      ["groups", "show"],
      ["group", "add-member"],
      ["group", "remove-member"],
      ["group", "add-customer"],
      ["group", "remove-customer"],
      ["devices"],
    ]) {
      const r = await run(...cmd, "--help");
      assert.equal(r.code, 0, cmd.join(" "));
      assert.match(r.stdout, new RegExp(`Usage: support ${cmd.join(" ")}`));
    }
  });

  it("reads expiries as durations or ISO times", () => {
    const now = new Date("2030-01-01T00:00:00Z");
    assert.equal(parseExpiry("30d", now), "2030-01-31T00:00:00.000Z");
    assert.equal(parseExpiry("12h", now), "2030-01-01T12:00:00.000Z");
    assert.equal(parseExpiry("2030-02-01T09:00:00Z", now), "2030-02-01T09:00:00.000Z");
    assert.throws(() => parseExpiry("30", now), /--expires must be a duration/);
  });
});
