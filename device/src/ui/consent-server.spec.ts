import * as assert from "node:assert/strict";
import * as http from "node:http";
import { ApiUnreachableError } from "@support-tunnel/common";
import { DeviceError, ExitCode } from "../errors";
import {
  CONNECTED_ID,
  ENDED_ID,
  FakeConsentServices,
  FakeRecordedConsentServices,
  SAMPLE_KEY,
  WAITING_ID,
} from "../test/fake-consent-services";
import type { ConsentTunnel, PageSessionInfo } from "./consent-api";
import { MAX_BODY_BYTES, startConsentServer, type RunningConsentServer } from "./consent-server";
import { parseListenAddress } from "./listen-address";
import { hashPassword } from "./password";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown>;
}

describe("the consent page's server", () => {
  let services: FakeConsentServices;
  let server: RunningConsentServer | undefined;
  let port: number;
  let origin: string;
  let logs: string[];

  async function serve(
    options: { passwordHash?: string; services?: FakeConsentServices; now?: () => number } = {},
  ) {
    services = options.services ?? new FakeConsentServices();
    logs = [];
    server = await startConsentServer({
      services,
      listen: parseListenAddress("127.0.0.1:0"),
      passwordHash: options.passwordHash,
      deviceName: "kiosk-7",
      log: (m) => logs.push(m),
      now: options.now,
    });
    port = Number(new URL(server.url).port);
    origin = `http://127.0.0.1:${port}`;
  }

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** A raw request: node:http lets a spec send any Host and Origin, as an attacker can. */
  function call(
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: string | Buffer } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method,
          path,
          headers: { Host: `127.0.0.1:${port}`, ...options.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let json: Record<string, unknown> = {};
            try {
              json = JSON.parse(text) as Record<string, unknown>;
            } catch {
              // not JSON: the page's files
            }
            resolve({ status: res.statusCode!, headers: res.headers, text, json });
          });
        },
      );
      req.on("error", reject);
      req.end(options.body);
    });
  }

  /** What the page does first: a session cookie and its CSRF token. */
  async function pageSession(): Promise<{ cookie: string; token: string; info: PageSessionInfo }> {
    const answer = await call("GET", "/api/session");
    assert.equal(answer.status, 200, answer.text);
    const cookie = String(answer.headers["set-cookie"]![0]).split(";")[0]!;
    const info = answer.json as unknown as PageSessionInfo;
    return { cookie, token: info.csrfToken, info };
  }

  /** A request as the page sends it: same origin, cookie, token, JSON. */
  async function asThePage(
    method: string,
    path: string,
    body?: unknown,
    session?: { cookie: string; token: string },
    extra: Record<string, string> = {},
  ): Promise<Answer> {
    const { cookie, token } = session ?? (await pageSession());
    return call(method, path, {
      headers: {
        Origin: origin,
        Cookie: cookie,
        "X-CSRF-Token": token,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...extra,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  describe("on loopback, without a password", () => {
    beforeEach(() => serve());

    it("serves the page with headers that forbid framing, inline scripts, sniffing and referrers", async () => {
      const page = await call("GET", "/");
      assert.equal(page.status, 200);
      assert.match(String(page.headers["content-type"]), /^text\/html/);
      const csp = String(page.headers["content-security-policy"]);
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline/);
      assert.equal(page.headers["x-frame-options"], "DENY");
      assert.equal(page.headers["x-content-type-options"], "nosniff");
      assert.equal(page.headers["referrer-policy"], "no-referrer");
      assert.doesNotMatch(page.text, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
      assert.doesNotMatch(page.text, /\son[a-z]+=/, "no inline event handler");
      assert.doesNotMatch(page.text, /https?:\/\//, "nothing from another site");
      const script = await call("GET", "/assets/app.js");
      assert.equal(script.status, 200);
      assert.match(String(script.headers["content-type"]), /^text\/javascript/);
    });

    it("answers 403 to a foreign Host header, the page included (DNS rebinding)", async () => {
      for (const path of ["/", "/api/tunnels", "/api/session"]) {
        const answer = await call("GET", path, { headers: { Host: `evil.example:${port}` } });
        assert.equal(answer.status, 403, path);
        assert.equal(answer.json.field, "host");
      }
      const otherPort = await call("GET", "/", { headers: { Host: `127.0.0.1:${port + 1}` } });
      assert.equal(otherPort.status, 403);
      assert.deepEqual(services.calls, []);
    });

    it("answers to its own address and to localhost", async () => {
      assert.equal((await call("GET", "/api/tunnels")).status, 200);
      const viaLocalhost = await call("GET", "/api/tunnels", {
        headers: { Host: `localhost:${port}` },
      });
      assert.equal(viaLocalhost.status, 200);
    });

    it("gives a session cookie no script can read nor another site send, with a CSRF token", async () => {
      const answer = await call("GET", "/api/session");
      const cookie = String(answer.headers["set-cookie"]![0]);
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Strict/);
      const info = answer.json as unknown as PageSessionInfo;
      assert.match(info.csrfToken, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(!cookie.includes(info.csrfToken), "the token is not the cookie");
      assert.equal(info.loginRequired, false);
      assert.equal(info.deviceName, "kiosk-7");
      assert.deepEqual(info.choices, [
        "description",
        "ticket",
        "ttlSeconds",
        "start",
        "engineers",
        "ports",
      ]);
      assert.deepEqual(info.features, { timeline: false, sessions: false, replay: false });
    });

    it("lists the tunnels and shows one by id; an unknown id is 404", async () => {
      const list = await call("GET", "/api/tunnels");
      assert.equal(list.status, 200);
      const tunnels = list.json.tunnels as ConsentTunnel[];
      assert.deepEqual(
        tunnels.map((t) => t.status),
        ["waiting", "connected", "ended"],
      );
      assert.equal(tunnels[0]!.presharedKey, SAMPLE_KEY);
      const one = await call("GET", `/api/tunnels/${CONNECTED_ID}`);
      assert.equal(one.json.approvedBy, "alice");
      const unknown = await call("GET", "/api/tunnels/00000000-0000-4000-8000-000000000000");
      assert.equal(unknown.status, 404);
      assert.equal((await call("GET", "/api/tunnels/not-an-id")).status, 404);
    });

    it("requests support with the page's choices, validated", async () => {
      const answer = await asThePage("POST", "/api/tunnels", {
        description: "printer queue is stuck",
        ttlSeconds: 5400,
      });
      assert.equal(answer.status, 201, answer.text);
      assert.deepEqual(answer.json, {
        tunnelId: WAITING_ID,
        presharedKey: SAMPLE_KEY,
        expiresAt: "2030-01-01T02:00:00Z",
      });
      assert.deepEqual(services.requests, [
        { description: "printer queue is stuck", ttlSeconds: 5400 },
      ]);
    });

    it("stops a tunnel with DELETE (the kill switch)", async () => {
      const answer = await asThePage("DELETE", `/api/tunnels/${CONNECTED_ID}`);
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(answer.json, { tunnelId: CONNECTED_ID, found: true, apiTold: true });
      assert.ok(services.calls.includes(`stop ${CONNECTED_ID}`));
    });

    for (const [method, path, body] of [
      ["POST", "/api/tunnels", { description: "x" }],
      ["DELETE", `/api/tunnels/${CONNECTED_ID}`, undefined],
    ] as const) {
      describe(`${method} ${path.replace(/[0-9a-f-]{36}/, ":id")}`, () => {
        it("is refused (403) from another origin, and changes nothing", async () => {
          for (const other of ["http://evil.example", `http://localhost:${port}`, "null"]) {
            const answer = await asThePage(method, path, body, undefined, { Origin: other });
            assert.equal(answer.status, 403, other);
            assert.equal(answer.json.field, "origin");
          }
          assert.ok(!services.calls.some((c) => c.startsWith("request") || c.startsWith("stop")));
        });

        it("is refused (403) without an Origin, or marked cross-site by the browser", async () => {
          const session = await pageSession();
          const noOrigin = await call(method, path, {
            headers: { Cookie: session.cookie, "X-CSRF-Token": session.token },
          });
          assert.equal(noOrigin.status, 403);
          const crossSite = await asThePage(method, path, body, session, {
            "Sec-Fetch-Site": "cross-site",
          });
          assert.equal(crossSite.status, 403);
          assert.deepEqual(services.calls, []);
        });

        it("is refused (403) with a missing, wrong or another session's CSRF token", async () => {
          const mine = await pageSession();
          const theirs = await pageSession();
          const missing = await call(method, path, {
            headers: { Origin: origin, Cookie: mine.cookie, "Content-Type": "application/json" },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          assert.equal(missing.status, 403);
          assert.equal(missing.json.field, "x-csrf-token");
          const wrong = await asThePage(method, path, body, {
            cookie: mine.cookie,
            token: "A".repeat(43),
          });
          assert.equal(wrong.status, 403);
          const crossed = await asThePage(method, path, body, {
            cookie: mine.cookie,
            token: theirs.token,
          });
          assert.equal(crossed.status, 403);
          const noCookie = await asThePage(method, path, body, { cookie: "", token: mine.token });
          assert.equal(noCookie.status, 403);
          assert.ok(!services.calls.some((c) => c.startsWith("request") || c.startsWith("stop")));
        });

        it("passes with the same origin and the session's token", async () => {
          const answer = await asThePage(method, path, body);
          assert.ok(answer.status === 200 || answer.status === 201, answer.text);
        });
      });
    }

    it("refuses a body that is too big (413), not JSON, or not application/json, naming the body", async () => {
      const session = await pageSession();
      const big = await asThePage(
        "POST",
        "/api/tunnels",
        { description: "x".repeat(MAX_BODY_BYTES) },
        session,
      );
      assert.equal(big.status, 413);
      assert.equal(big.json.field, "body");
      const notJson = await call("POST", "/api/tunnels", {
        headers: {
          Origin: origin,
          Cookie: session.cookie,
          "X-CSRF-Token": session.token,
          "Content-Type": "application/json",
        },
        body: "{description:",
      });
      assert.equal(notJson.status, 400);
      assert.equal(notJson.json.field, "body");
      const form = await call("POST", "/api/tunnels", {
        headers: {
          Origin: origin,
          Cookie: session.cookie,
          "X-CSRF-Token": session.token,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: "description=x",
      });
      assert.equal(form.status, 415);
      assert.equal(services.requests.length, 0);
    });

    it("refuses invalid choices with 400 naming the field", async () => {
      const cases: [unknown, string][] = [
        [{ ttlSeconds: 10 }, "ttlSeconds"],
        [{ ttlSeconds: "2h" }, "ttlSeconds"],
        [{ description: "a\u001b[2Jb" }, "description"],
        [{ description: "x".repeat(501) }, "description"],
        [{ hostname: "evil" }, "hostname"],
        [{ ports: [22] }, "ports.0"],
        [{ ports: [80, null] }, "ports.1"],
        [{ ports: [80, 80] }, "ports"],
        [[], "body"],
      ];
      const session = await pageSession();
      for (const [body, field] of cases) {
        const answer = await asThePage("POST", "/api/tunnels", body, session);
        assert.equal(answer.status, 400, JSON.stringify(body));
        assert.equal(answer.json.field, field, answer.text);
        assert.match(String(answer.json.message), new RegExp(`^${field}: `));
      }
      assert.equal(services.requests.length, 0);
    });

    it("says why a request failed: an unreachable support service is 502", async () => {
      services.failure = new ApiUnreachableError(
        "api at http://api.test unreachable: ECONNREFUSED",
      );
      const answer = await asThePage("POST", "/api/tunnels", {});
      assert.equal(answer.status, 502);
      assert.match(String(answer.json.message), /cannot be reached.*ECONNREFUSED/);
      services.failure = new DeviceError("no api url: pass --api", ExitCode.Usage);
      assert.equal((await asThePage("POST", "/api/tunnels", {})).status, 400);
    });

    it("has no session record routes when the device keeps none", async () => {
      assert.equal((await call("GET", `/api/tunnels/${ENDED_ID}/timeline`)).status, 404);
      assert.equal((await call("GET", "/api/sessions/s1/cast")).status, 404);
    });

    it("answers 405 to a method a route does not take, and 404 to no route", async () => {
      const put = await asThePage("PUT", "/api/tunnels", {});
      assert.equal(put.status, 405);
      assert.equal(put.headers.allow, "GET, POST");
      assert.equal((await call("GET", "/api/nothing")).status, 404);
    });
  });

  describe("with a session record", () => {
    beforeEach(() => serve({ services: new FakeRecordedConsentServices() }));

    it("serves the timeline, the sessions and a session's recording", async () => {
      const { info } = await pageSession();
      assert.equal(info.features.timeline, true);
      assert.equal(info.features.sessions, true);
      assert.equal(info.features.replay, true, "the player is bundled");
      const timeline = await call("GET", `/api/tunnels/${ENDED_ID}/timeline`);
      assert.match(JSON.stringify(timeline.json.entries), /alice ran: systemctl restart cups/);
      const sessions = await call("GET", `/api/tunnels/${ENDED_ID}/sessions`);
      assert.equal((sessions.json.sessions as { sessionId: string }[])[0]!.sessionId, "s1");
      assert.equal((await call("GET", `/api/tunnels/${WAITING_ID}/timeline`)).status, 404);
      const cast = await call("GET", "/api/sessions/s1/cast");
      assert.equal(cast.status, 200);
      assert.match(String(cast.headers["content-type"]), /^application\/x-asciicast/);
      assert.match(cast.text, /REPLAYED-OUTPUT/);
      assert.equal((await call("GET", "/api/sessions/s2/cast")).status, 404);
    });

    it("serves the player from the package, and lets only the replay page run WebAssembly", async () => {
      const player = await call("GET", "/assets/player/asciinema-player.min.js");
      assert.equal(player.status, 200);
      assert.match(player.text, /AsciinemaPlayer/);
      const replay = await call("GET", "/replay?session=s1");
      assert.match(String(replay.headers["content-security-policy"]), /'wasm-unsafe-eval'/);
      const page = await call("GET", "/");
      assert.doesNotMatch(String(page.headers["content-security-policy"]), /wasm/);
    });
  });

  describe("with a password", () => {
    let password: string;
    let hash: string;
    let now: number;

    before(async () => {
      password = "correct horse battery";
      hash = await hashPassword(password);
    });
    beforeEach(() => {
      now = Date.parse("2030-01-01T00:00:00Z");
      return serve({ passwordHash: hash, now: () => now });
    });

    it("refuses every route but the page, the session and the login until signed in", async () => {
      const { info } = await pageSession();
      assert.equal(info.loginRequired, true);
      assert.equal(info.authenticated, false);
      assert.equal((await call("GET", "/")).status, 200);
      assert.equal((await call("GET", "/api/tunnels")).status, 401);
      assert.equal((await call("GET", `/api/tunnels/${WAITING_ID}`)).status, 401);
      assert.equal((await asThePage("POST", "/api/tunnels", {})).status, 401);
      assert.equal((await asThePage("DELETE", `/api/tunnels/${WAITING_ID}`)).status, 401);
      assert.deepEqual(services.calls, []);
    });

    it("signs in with the password into a new session; the old one stays out", async () => {
      const before = await pageSession();
      const wrong = await asThePage("POST", "/api/login", { password: "guess" }, before);
      assert.equal(wrong.status, 401);
      assert.equal(wrong.json.field, "password");
      const right = await asThePage("POST", "/api/login", { password }, before);
      assert.equal(right.status, 200, right.text);
      assert.equal(right.json.authenticated, true);
      const after = {
        cookie: String(right.headers["set-cookie"]![0]).split(";")[0]!,
        token: String(right.json.csrfToken),
      };
      assert.notEqual(after.cookie, before.cookie);
      const list = await call("GET", "/api/tunnels", { headers: { Cookie: after.cookie } });
      assert.equal(list.status, 200);
      assert.equal((await asThePage("POST", "/api/tunnels", {}, after)).status, 201);
      const old = await call("GET", "/api/tunnels", { headers: { Cookie: before.cookie } });
      assert.equal(old.status, 401);
    });

    it("needs the same origin and token to sign in, too", async () => {
      const session = await pageSession();
      const crossOrigin = await asThePage("POST", "/api/login", { password }, session, {
        Origin: "http://evil.example",
      });
      assert.equal(crossOrigin.status, 403);
    });

    it("stops taking guesses after five wrong passwords in a minute", async () => {
      const session = await pageSession();
      for (let i = 0; i < 5; i++) {
        assert.equal(
          (await asThePage("POST", "/api/login", { password: `guess${i}` }, session)).status,
          401,
        );
      }
      const blocked = await asThePage("POST", "/api/login", { password }, session);
      assert.equal(blocked.status, 429);
      now += 61_000;
      assert.equal((await asThePage("POST", "/api/login", { password }, session)).status, 200);
    });
  });

  describe("beyond loopback", () => {
    it("refuses to start without a password (exit 2), saying how to set one", async () => {
      await assert.rejects(
        startConsentServer({
          services: new FakeConsentServices(),
          listen: parseListenAddress("0.0.0.0:0"),
          deviceName: "kiosk-7",
          log: () => {},
        }),
        (err: DeviceError) => {
          assert.equal(err.exitCode, ExitCode.Usage);
          assert.match(err.message, /without a password: set ui.passwordHash/);
          return true;
        },
      );
    });

    it("starts with one, and asks for it", async () => {
      server = await startConsentServer({
        services: new FakeConsentServices(),
        listen: parseListenAddress("0.0.0.0:0"),
        passwordHash: await hashPassword("correct horse battery"),
        deviceName: "kiosk-7",
        log: () => {},
      });
      port = Number(new URL(server.url).port);
      assert.equal((await call("GET", "/api/tunnels")).status, 401);
      assert.equal(
        (await call("GET", "/api/tunnels", { headers: { Host: `evil.example:${port}` } })).status,
        403,
      );
    });
  });
});
