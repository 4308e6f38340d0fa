import assert from "node:assert/strict";
import { generateKeyPair, type CreateTunnelResponse } from "@support-tunnel/common";
import { dumpDatabase, http, startTestApi, useTestApi, type TestApi } from "./testing/test-api";

interface BadCase {
  what: string;
  method: string;
  path: string;
  token?: "device" | "admin";
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  status?: number;
  field: string;
}

describe("api: malformed input (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestApi();
  let tunnel: CreateTunnelResponse;
  const devicePublicKey = generateKeyPair().publicKey;
  const serverPublicKey = generateKeyPair().publicKey;

  before(async () => {
    const created = await http(pg.sut.url, "POST", "/v1/device/tunnels", {
      body: { deviceWgPublicKey: devicePublicKey, network: "10.66.0.0/30" },
    });
    assert.equal(created.status, 201);
    tunnel = created.body as unknown as CreateTunnelResponse;
  });

  const goodCreate = () => ({ deviceWgPublicKey: devicePublicKey, network: "10.66.0.4/30" });
  const goodApprove = () => ({
    instanceId: "netns-1",
    provider: "netns",
    publicIp: "203.0.113.9",
    wgPort: 51820,
    wgPublicKey: serverPublicKey,
    approval: "c2VhbGVk",
  });
  const id = () => tunnel.tunnelId;

  const cases = (): BadCase[] => [
    // POST /v1/device/tunnels
    { what: "no body", method: "POST", path: "/v1/device/tunnels", field: "body" },
    { what: "an array", method: "POST", path: "/v1/device/tunnels", body: [], field: "body" },
    {
      what: "broken JSON",
      method: "POST",
      path: "/v1/device/tunnels",
      rawBody: "{bad",
      field: "body",
    },
    {
      what: "a body over 64 KiB",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), description: "x".repeat(70_000) },
      status: 413,
      field: "body",
    },
    {
      what: "no key",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { network: "10.66.0.4/30" },
      field: "deviceWgPublicKey",
    },
    {
      what: "a bad key",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), deviceWgPublicKey: "abc" },
      field: "deviceWgPublicKey",
    },
    {
      what: "a public network",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), network: "8.8.8.0/30" },
      field: "network",
    },
    {
      what: "a /24",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), network: "10.66.1.0/24" },
      field: "network",
    },
    {
      what: "a /31",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), network: "10.66.1.0/31" },
      field: "network",
    },
    {
      what: "host bits set",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), network: "10.66.1.1/30" },
      field: "network",
    },
    {
      what: "a bad hostname",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), hostname: "a b;rm" },
      field: "hostname",
    },
    {
      what: "control characters",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), description: "hi\u001b[2J" },
      field: "description",
    },
    {
      what: "a bidi override (U+202E)",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), description: "invoice \u202egnp.exe" },
      field: "description",
    },
    {
      what: "a zero-width space",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), description: "adm\u200bin" },
      field: "description",
    },
    {
      what: "a too short ttl",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), ttlSeconds: 5 },
      field: "ttlSeconds",
    },
    {
      what: "a ttl string",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), ttlSeconds: "600" },
      field: "ttlSeconds",
    },
    {
      what: "an unknown field",
      method: "POST",
      path: "/v1/device/tunnels",
      body: { ...goodCreate(), psk: "secret" },
      field: "psk",
    },
    {
      what: "a JSON-looking body sent as text",
      method: "POST",
      path: "/v1/device/tunnels",
      rawBody: JSON.stringify(goodCreate()),
      headers: { "content-type": "text/plain" },
      status: 415,
      field: "body",
    },
    // GET /v1/device/tunnel
    {
      what: "no token",
      method: "GET",
      path: "/v1/device/tunnel",
      status: 401,
      field: "authorization",
    },
    {
      what: "a non-bearer header",
      method: "GET",
      path: "/v1/device/tunnel",
      headers: { authorization: "Token abc" },
      status: 401,
      field: "authorization",
    },
    {
      what: "a malformed token",
      method: "GET",
      path: "/v1/device/tunnel",
      headers: { authorization: "Bearer std_short" },
      status: 401,
      field: "authorization",
    },
    {
      what: "wait over 30",
      method: "GET",
      path: "/v1/device/tunnel?wait=31",
      token: "device",
      field: "wait",
    },
    {
      what: "wait not a number",
      method: "GET",
      path: "/v1/device/tunnel?wait=soon",
      token: "device",
      field: "wait",
    },
    {
      what: "negative wait",
      method: "GET",
      path: "/v1/device/tunnel?wait=-1",
      token: "device",
      field: "wait",
    },
    {
      what: "fractional wait",
      method: "GET",
      path: "/v1/device/tunnel?wait=1.5",
      token: "device",
      field: "wait",
    },
    {
      what: "an unknown since",
      method: "GET",
      path: "/v1/device/tunnel?wait=1&since=done",
      token: "device",
      field: "since",
    },
    // POST /v1/device/tunnel/connected
    {
      what: "no body",
      method: "POST",
      path: "/v1/device/tunnel/connected",
      token: "device",
      field: "body",
    },
    {
      what: "a bad user",
      method: "POST",
      path: "/v1/device/tunnel/connected",
      token: "device",
      body: { supportUser: "root" },
      field: "supportUser",
    },
    {
      what: "an unknown field",
      method: "POST",
      path: "/v1/device/tunnel/connected",
      token: "device",
      body: { supportUser: "support00ff", uid: 0 },
      field: "uid",
    },
    // POST /v1/device/tunnel/sessions
    {
      what: "no body",
      method: "POST",
      path: "/v1/device/tunnel/sessions",
      token: "device",
      field: "body",
    },
    {
      what: "a bad session id",
      method: "POST",
      path: "/v1/device/tunnel/sessions",
      token: "device",
      body: { session: "../../x", engineer: "alice", startedAt: "2030-01-01T10:00:00Z" },
      field: "session",
    },
    {
      what: "an engineer name with a bidi override",
      method: "POST",
      path: "/v1/device/tunnel/sessions",
      token: "device",
      body: {
        session: "0123456789ab",
        engineer: "ali\u202ece",
        startedAt: "2030-01-01T10:00:00Z",
      },
      field: "engineer",
    },
    {
      what: "an end before the start",
      method: "POST",
      path: "/v1/device/tunnel/sessions",
      token: "device",
      body: {
        session: "0123456789ab",
        engineer: "alice",
        startedAt: "2030-01-01T10:00:00Z",
        endedAt: "2030-01-01T09:00:00Z",
      },
      field: "endedAt",
    },
    {
      what: "the session's content",
      method: "POST",
      path: "/v1/device/tunnel/sessions",
      token: "device",
      body: {
        session: "0123456789ab",
        engineer: "alice",
        startedAt: "2030-01-01T10:00:00Z",
        output: "uid=0(root)",
      },
      field: "output",
    },
    // DELETE /v1/device/tunnel
    {
      what: "a long reason",
      method: "DELETE",
      path: "/v1/device/tunnel",
      token: "device",
      body: { reason: "x".repeat(201) },
      field: "reason",
    },
    {
      what: "a reason with escapes",
      method: "DELETE",
      path: "/v1/device/tunnel",
      token: "device",
      body: { reason: "\u0007" },
      field: "reason",
    },
    {
      what: "text/plain garbage",
      method: "DELETE",
      path: "/v1/device/tunnel",
      token: "device",
      rawBody: "stop now please",
      headers: { "content-type": "text/plain" },
      status: 415,
      field: "body",
    },
    {
      what: "a form",
      method: "DELETE",
      path: "/v1/device/tunnel",
      token: "device",
      rawBody: "reason=bye",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      status: 415,
      field: "body",
    },
    {
      what: "broken JSON",
      method: "DELETE",
      path: "/v1/device/tunnel",
      token: "device",
      rawBody: "{reason",
      field: "body",
    },
    {
      what: "an unknown field",
      method: "DELETE",
      path: "/v1/device/tunnel",
      token: "device",
      body: { force: true },
      field: "force",
    },
    // GET /v1/tunnels
    {
      what: "an unknown state",
      method: "GET",
      path: "/v1/tunnels?state=bogus",
      token: "admin",
      field: "state",
    },
    {
      what: "a device token",
      method: "GET",
      path: "/v1/tunnels",
      token: "device",
      status: 401,
      field: "authorization",
    },
    // GET /v1/tunnels/:id
    {
      what: "a non-UUID id",
      method: "GET",
      path: "/v1/tunnels/not-a-uuid",
      token: "admin",
      field: "id",
    },
    {
      what: "an uppercase UUID",
      method: "GET",
      path: `/v1/tunnels/${id().toUpperCase()}`,
      token: "admin",
      field: "id",
    },
    {
      what: "wait over 30",
      method: "GET",
      path: `/v1/tunnels/${id()}?wait=300`,
      token: "admin",
      field: "wait",
    },
    {
      what: "an unknown tunnel",
      method: "GET",
      path: "/v1/tunnels/00000000-0000-4000-8000-000000000000",
      token: "admin",
      status: 404,
      field: "id",
    },
    // POST /v1/tunnels/:id/server
    {
      what: "a bad id",
      method: "POST",
      path: "/v1/tunnels/x/server",
      token: "admin",
      body: goodApprove(),
      field: "id",
    },
    {
      what: "an approval sent as a form",
      method: "POST",
      path: `/v1/tunnels/${id()}/server`,
      token: "admin",
      rawBody: new URLSearchParams(goodApprove() as unknown as Record<string, string>).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      status: 415,
      field: "body",
    },
    {
      what: "no body",
      method: "POST",
      path: `/v1/tunnels/${id()}/server`,
      token: "admin",
      field: "body",
    },
    {
      what: "an empty instanceId",
      method: "POST",
      path: `/v1/tunnels/${id()}/server`,
      token: "admin",
      body: { ...goodApprove(), instanceId: "" },
      field: "instanceId",
    },
    {
      what: "an unknown provider",
      method: "POST",
      path: `/v1/tunnels/${id()}/server`,
      token: "admin",
      body: { ...goodApprove(), provider: "aws" },
      field: "provider",
    },
    {
      what: "a bad IP",
      method: "POST",
      path: `/v1/tunnels/${id()}/server`,
      token: "admin",
      body: { ...goodApprove(), publicIp: "999.1.1.1" },
      field: "publicIp",
    },
    {
      what: "port 0",
      method: "POST",
      path: `/v1/tunnels/${id()}/server`,
      token: "admin",
      body: { ...goodApprove(), wgPort: 0 },
      field: "wgPort",
    },
    {
      what: "port 70000",
      method: "POST",
      path: `/v1/tunnels/${id()}/server`,
      token: "admin",
      body: { ...goodApprove(), wgPort: 70000 },
      field: "wgPort",
    },
    {
      what: "a bad server key",
      method: "POST",
      path: `/v1/tunnels/${id()}/server`,
      token: "admin",
      body: { ...goodApprove(), wgPublicKey: "k" },
      field: "wgPublicKey",
    },
    {
      what: "an approval that isn't base64",
      method: "POST",
      path: `/v1/tunnels/${id()}/server`,
      token: "admin",
      body: { ...goodApprove(), approval: "not base64!" },
      field: "approval",
    },
    {
      what: "a huge approval",
      method: "POST",
      path: `/v1/tunnels/${id()}/server`,
      token: "admin",
      body: { ...goodApprove(), approval: "A".repeat(5000) },
      field: "approval",
    },
    {
      what: "a private key field",
      method: "POST",
      path: `/v1/tunnels/${id()}/server`,
      token: "admin",
      body: { ...goodApprove(), wgPrivateKey: serverPublicKey },
      field: "wgPrivateKey",
    },
    // DELETE /v1/tunnels/:id
    { what: "a bad id", method: "DELETE", path: "/v1/tunnels/123", token: "admin", field: "id" },
    {
      what: "a bad reason",
      method: "DELETE",
      path: `/v1/tunnels/${id()}`,
      token: "admin",
      body: { reason: 42 },
      field: "reason",
    },
    {
      what: "a reason with a bidi isolate",
      method: "DELETE",
      path: `/v1/tunnels/${id()}`,
      token: "admin",
      body: { reason: "done\u2066" },
      field: "reason",
    },
    {
      what: "text/plain garbage",
      method: "DELETE",
      path: `/v1/tunnels/${id()}`,
      token: "admin",
      rawBody: "garbage",
      headers: { "content-type": "text/plain; charset=utf-8" },
      status: 415,
      field: "body",
    },
    {
      what: "broken JSON",
      method: "DELETE",
      path: `/v1/tunnels/${id()}`,
      token: "admin",
      rawBody: "{",
      field: "body",
    },
    // GET /v1/tunnels/:id/audit
    { what: "a bad id", method: "GET", path: "/v1/tunnels/zzz/audit", token: "admin", field: "id" },
    // GET /v1/whoami
    { what: "no token", method: "GET", path: "/v1/whoami", status: 401, field: "authorization" },
    // POST /v1/engineers
    {
      what: "a bad name",
      method: "POST",
      path: "/v1/engineers",
      token: "admin",
      body: { name: "A", role: "viewer" },
      field: "name",
    },
    {
      what: "an unknown role",
      method: "POST",
      path: "/v1/engineers",
      token: "admin",
      body: { name: "alice", role: "root" },
      field: "role",
    },
    {
      what: "a body in no known type",
      method: "POST",
      path: "/v1/engineers",
      token: "admin",
      rawBody: JSON.stringify({ name: "mallory", role: "admin" }),
      headers: { "content-type": "application/octet-stream" },
      status: 415,
      field: "body",
    },
    {
      what: "a token field",
      method: "POST",
      path: "/v1/engineers",
      token: "admin",
      body: { name: "alice", role: "viewer", token: "x" },
      field: "token",
    },
    // DELETE /v1/engineers/:name
    {
      what: "a bad name",
      method: "DELETE",
      path: "/v1/engineers/Bad%20Name",
      token: "admin",
      field: "name",
    },
    {
      what: "an unknown engineer",
      method: "DELETE",
      path: "/v1/engineers/nobody",
      token: "admin",
      status: 404,
      field: "name",
    },
  ];

  it("refuses a description with a bidi override, naming the field and the character", async () => {
    const refused = await http(pg.sut.url, "POST", "/v1/device/tunnels", {
      body: { ...goodCreate(), description: "invoice \u202egnp.exe" },
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.field, "description");
    assert.equal(
      refused.body.message,
      "description: must not contain bidi controls (found U+202E)",
    );
  });

  it("names the content type it refuses, and takes a DELETE with no body at all as no reason", async () => {
    const refused = await http(pg.sut.url, "DELETE", `/v1/tunnels/${id()}`, {
      token: pg.sut.adminToken,
      rawBody: "garbage",
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
    assert.equal(refused.status, 415);
    assert.match(refused.body.message ?? "", /application\/json.*text\/plain/);
    const other = await http(pg.sut.url, "POST", "/v1/device/tunnels", {
      body: { deviceWgPublicKey: generateKeyPair().publicKey, network: "10.66.9.0/30" },
    });
    const otherId = String(other.body.tunnelId);
    const stopped = await http(pg.sut.url, "DELETE", `/v1/tunnels/${otherId}`, {
      token: pg.sut.adminToken,
    });
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.state, "completed");
    assert.equal(stopped.body.stopReason, null);
  });

  it("answers every malformed request with a 4xx naming the field, and changes nothing", async () => {
    // Rate-limit counters count every tunnel request, malformed ones too.
    const dump = () => dumpDatabase(pg.db.url, ["rate_limit_counters"]);
    const before = await dump();
    const failures: string[] = [];
    for (const c of cases()) {
      const token =
        c.token === "device" ? tunnel.token : c.token === "admin" ? pg.sut.adminToken : undefined;
      const answer = await http(pg.sut.url, c.method, c.path, {
        token,
        body: c.body,
        rawBody: c.rawBody,
        headers: c.headers,
      });
      const expected = c.status ?? 400;
      if (
        answer.status !== expected ||
        answer.body.field !== c.field ||
        answer.body.statusCode !== expected ||
        !answer.body.message
      ) {
        failures.push(
          `${c.method} ${c.path} with ${c.what}: got ${answer.status} ${JSON.stringify(answer.body)}, want ${expected} naming ${c.field}`,
        );
      }
    }
    assert.deepEqual(failures, []);
    assert.equal(await dump(), before);
  });

  describe("with an enrollment secret and a tight rate limit", () => {
    let strict: TestApi | undefined;
    const secret = "fleet-secret-0123456789";
    const strictEnv = () => ({
      SUPPORT_ENROLLMENT_SECRET: secret,
      SUPPORT_RATE_LIMIT_PER_MINUTE: "2",
      SUPPORT_BOOTSTRAP_TOKEN: pg.sut.adminToken,
      SUPPORT_TRUST_PROXY: "1",
    });

    before(async () => {
      strict = await startTestApi(pg.db.url, strictEnv());
    });

    after(async () => {
      await strict?.close();
    });

    const askFrom = (api: TestApi, address: string, enrollmentSecret = secret) =>
      http(api.url, "POST", "/v1/device/tunnels", {
        body: { deviceWgPublicKey: devicePublicKey, network: "10.66.5.0/30" },
        headers: { "x-enrollment-secret": enrollmentSecret, "x-forwarded-for": address },
      });

    it("refuses tunnel requests without the right enrollment secret", async () => {
      const body = { deviceWgPublicKey: devicePublicKey, network: "10.66.2.0/30" };
      // each from its own (forwarded) address, so the rate limit stays out of the way
      const missing = await http(strict!.url, "POST", "/v1/device/tunnels", {
        body,
        headers: { "x-forwarded-for": "198.51.100.1" },
      });
      assert.equal(missing.status, 401);
      assert.equal(missing.body.field, "x-enrollment-secret");
      const wrong = await http(strict!.url, "POST", "/v1/device/tunnels", {
        body,
        headers: {
          "x-enrollment-secret": "not-the-fleet-secret",
          "x-forwarded-for": "198.51.100.2",
        },
      });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.field, "x-enrollment-secret");
      const right = await http(strict!.url, "POST", "/v1/device/tunnels", {
        body,
        headers: { "x-enrollment-secret": secret, "x-forwarded-for": "198.51.100.3" },
      });
      assert.equal(right.status, 201);
    });

    it("takes the client address from X-Forwarded-For when told to trust the proxy", async () => {
      const created = await http(strict!.url, "POST", "/v1/device/tunnels", {
        body: { deviceWgPublicKey: devicePublicKey, network: "10.66.4.0/30" },
        headers: { "x-enrollment-secret": secret, "x-forwarded-for": "203.0.113.50" },
      });
      assert.equal(created.status, 201);
      const audit = await http(
        strict!.url,
        "GET",
        `/v1/tunnels/${String(created.body.tunnelId)}/audit`,
        {
          token: pg.sut.adminToken,
        },
      );
      const entries = audit.body.entries as { clientAddress: string }[];
      assert.equal(entries[0]?.clientAddress, "203.0.113.50");
    });

    it("limits tunnel requests per address", async () => {
      const ask = () =>
        http(strict!.url, "POST", "/v1/device/tunnels", {
          body: { deviceWgPublicKey: devicePublicKey, network: "10.66.3.0/30" },
          headers: { "x-enrollment-secret": secret, "x-forwarded-for": "198.51.100.9" },
        });
      const answers = [await ask(), await ask(), await ask()];
      assert.deepEqual(
        answers.map((a) => a.status),
        [201, 201, 429],
      );
      assert.match(answers[2]!.body.message ?? "", /too many tunnel requests/);
    });

    it("counts requests with a wrong enrollment secret against the limit", async () => {
      const answers = [
        await askFrom(strict!, "198.51.100.10", "guess-number-1"),
        await askFrom(strict!, "198.51.100.10", "guess-number-2"),
        await askFrom(strict!, "198.51.100.10"),
      ];
      assert.deepEqual(
        answers.map((a) => a.status),
        [401, 401, 429],
      );
    });

    describe("and a second replica on the same database", () => {
      let replica: TestApi | undefined;

      before(async () => {
        replica = await startTestApi(pg.db.url, strictEnv());
      });

      after(async () => {
        await replica?.close();
      });

      it("holds the limit across replicas: a client can't get more by spreading its requests", async () => {
        const answers = [
          await askFrom(strict!, "198.51.100.11"),
          await askFrom(replica!, "198.51.100.11"),
          await askFrom(strict!, "198.51.100.11"),
          await askFrom(replica!, "198.51.100.11"),
        ];
        assert.deepEqual(
          answers.map((a) => a.status),
          [201, 201, 429, 429],
        );
        // another address still gets through
        assert.equal((await askFrom(replica!, "198.51.100.12")).status, 201);
      });
    });
  });
});
