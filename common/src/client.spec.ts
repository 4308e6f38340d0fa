import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import {
  ApiError,
  ApiUnreachableError,
  SupportApiClient,
  type ApiClientOptions,
  type ApiFetch,
} from "./client";
import { generateKeyPair } from "./crypto";
import type { TunnelId } from "./ids";
import { nodeHttpFetch } from "./node-http-fetch";
import { TunnelState } from "./state";

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void;

const tunnelId = randomUUID() as TunnelId;
const deviceToken = `std_${"a".repeat(43)}`;
const deviceView = {
  tunnelId,
  state: "pending",
  network: "10.1.2.0/30",
  createdAt: "2026-11-24T05:00:00.000Z",
  expiresAt: "2026-11-24T06:00:00.000Z",
  server: null,
  stoppedBy: null,
  stopReason: null,
  ticket: null,
  notBefore: null,
  allowedEngineers: null,
  allowedPorts: [],
};

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** A real api stand-in on 127.0.0.1: answers with the next handler in line, records each request. */
class FakeApi {
  readonly seen: Seen[] = [];
  private handlers: Handler[] = [];
  private server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      this.seen.push(seen);
      const handler = this.handlers.length > 1 ? this.handlers.shift()! : this.handlers[0];
      if (handler) handler(req, res, seen);
      else json(res, 500, { statusCode: 500, message: "no handler" });
    });
  });

  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Handlers answer in order; the last one answers every request after it. */
  answer(...handlers: Handler[]): void {
    this.handlers = handlers;
  }

  reset(): void {
    this.seen.length = 0;
    this.handlers = [];
    this.server.closeAllConnections();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A TCP proxy in front of the fake api that, for the next `n` answers, lets the
 * request through and destroys the connection when the answer comes back: the
 * request reached the api and was done there, and its answer is lost. Counted
 * per answer, not per connection: a transport may reuse a kept-alive one.
 */
class LossyProxy {
  private toDrop = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((client) => {
    const upstream = net.connect(this.upstreamPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      socket.on("error", () => undefined);
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (this.toDrop > 0) {
        this.toDrop--;
        client.destroy();
      } else if (!client.destroyed) client.write(chunk);
    });
  });

  constructor(private readonly upstreamPort: number) {}

  dropAnswers(n: number): void {
    this.toDrop = n;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nothing listens on (for now): connections to it are refused. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail("expected the call to fail");
}

// Every behaviour holds over both transports: the global fetch (the engineer's
// CLI) and node:http (the device agent's).
for (const [name, transport] of [
  ["fetch", undefined],
  ["node:http", nodeHttpFetch],
] as const) {
  describe(`SupportApiClient over ${name}`, () => clientSpecs(transport));
}

function clientSpecs(transport: ApiFetch | undefined): void {
  const api = new FakeApi();
  let baseUrl = "";
  let delays: number[] = [];

  function client(options: Partial<ApiClientOptions> = {}): SupportApiClient {
    return new SupportApiClient({
      baseUrl,
      retries: 3,
      backoffMs: 100,
      timeoutMs: 5000,
      sleep: async (ms) => {
        delays.push(ms);
      },
      ...(transport ? { fetch: transport } : {}),
      ...options,
    });
  }

  before(async () => {
    baseUrl = await api.start();
  });
  beforeEach(() => {
    delays = [];
  });
  afterEach(() => api.reset());
  after(() => api.stop());

  it("retries a 5xx answer with doubling backoff and returns the answer that works", async () => {
    api.answer(
      (_q, res) => json(res, 503, { statusCode: 503, message: "database restarting" }),
      (_q, res) => json(res, 502, { statusCode: 502, message: "bad gateway" }),
      (_q, res) => json(res, 200, deviceView),
    );
    const sut = client({ token: deviceToken });
    assert.deepEqual(await sut.getDeviceTunnel(), deviceView);
    assert.equal(api.seen.length, 3);
    assert.deepEqual(delays, [100, 200]);
  });

  it("gives up after its retries and surfaces the api's last message", async () => {
    api.answer((_q, res) => json(res, 503, { statusCode: 503, message: "database restarting" }));
    const err = await rejection(client().getDeviceTunnel());
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 503);
    assert.equal(err.message, "database restarting");
    assert.equal(api.seen.length, 4);
    assert.deepEqual(delays, [100, 200, 400]);
  });

  it("retries when the connection drops and then reports the api unreachable", async () => {
    api.answer((req) => req.socket.destroy());
    const err = await rejection(client({ retries: 2 }).getDeviceTunnel());
    assert.ok(err instanceof ApiUnreachableError, String(err));
    assert.match(err.message, new RegExp(`^api at ${baseUrl} unreachable: `));
    assert.equal(api.seen.length, 3);
    assert.deepEqual(delays, [100, 200]);
  });

  it("reports a refused connection as unreachable, naming the reason", async () => {
    const closed = new FakeApi();
    const url = await closed.start();
    await closed.stop();
    const err = await rejection(client({ baseUrl: url, retries: 1 }).whoami());
    assert.ok(err instanceof ApiUnreachableError);
    assert.match(err.message, /unreachable: ECONNREFUSED/);
    assert.deepEqual(delays, [100]);
  });

  it("does not retry a 4xx answer and keeps the api's message and field", async () => {
    api.answer((_q, res) =>
      json(res, 400, { statusCode: 400, message: "network: must be private", field: "network" }),
    );
    const err = await rejection(
      client().createTunnel({
        deviceWgPublicKey: generateKeyPair().publicKey,
        network: "10.0.0.0/30",
      }),
    );
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 400);
    assert.equal(err.message, "network: must be private");
    assert.equal(err.field, "network");
    assert.equal(api.seen.length, 1);
    assert.deepEqual(delays, []);
  });

  it("joins a list of messages, as Nest's validation pipe sends them", async () => {
    api.answer((_q, res) =>
      json(res, 400, {
        statusCode: 400,
        message: ["name is bad", "role is bad"],
        error: "Bad Request",
      }),
    );
    const err = await rejection(client().createEngineer({ name: "al", role: "admin" }));
    assert.equal(err.message, "name is bad; role is bad");
  });

  it("gives a clear error for an error answer that is not JSON", async () => {
    api.answer((_q, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html><body>Bad Gateway</body></html>");
    });
    const err = await rejection(client({ retries: 0 }).whoami());
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 502);
    assert.equal(err.message, "api answered 502: <html><body>Bad Gateway</body></html>");

    api.answer((_q, res) => {
      res.writeHead(401);
      res.end();
    });
    const empty = await rejection(client().whoami());
    assert.equal(empty.message, "api answered 401");
  });

  it("shows terminal control, bidi and invisible characters in what the api says as visible escapes", async () => {
    api.answer((_q, res) =>
      json(res, 403, {
        statusCode: 403,
        message: "no\u001b]0;pwned\u0007 way \u202egnp.exe\u200b",
        field: "x\u2066",
      }),
    );
    const err = await rejection(client().whoami());
    assert.equal(err.message, "no\\x1b]0;pwned\\x07 way \\u202egnp.exe\\u200b");
    assert.equal((err as ApiError).field, "x\\u2066");
    // An error body that is not the api's own shape is made safe too.
    api.answer((_q, res) => json(res, 400, { message: ["a\u009b", "b\u2069"] }));
    assert.equal((await rejection(client().whoami())).message, "a\\x9b; b\\u2069");
    api.answer((_q, res) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end("bad\u001b[2J gateway\u202e");
    });
    const raw = await rejection(client({ retries: 0 }).whoami());
    assert.equal(raw.message, "api answered 502: bad\\x1b[2J gateway\\u202e");
  });

  it("refuses an answer whose body does not match the contract, naming the field", async () => {
    api.answer((_q, res) => json(res, 200, { ...deviceView, state: "hacked" }));
    const err = await rejection(client().getDeviceTunnel());
    assert.ok(err instanceof ApiError);
    assert.match(
      err.message,
      /^api answered GET \/v1\/device\/tunnel with an invalid body: state: /,
    );

    api.answer((_q, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("OK");
    });
    const text = await rejection(client().getDeviceTunnel());
    assert.match(text.message, /invalid body: response: /);
    assert.equal(api.seen.length, 2);
  });

  it("gives each attempt its own timeout and reports a silent api as unreachable", async () => {
    api.answer(() => undefined); // never answers
    const err = await rejection(client({ timeoutMs: 150, retries: 1 }).getDeviceTunnel());
    assert.ok(err instanceof ApiUnreachableError);
    assert.match(err.message, /timed out after 150 ms/);
    assert.equal(api.seen.length, 2);
  });

  it("times out an answer that stalls halfway through its body, and retries it", async () => {
    api.answer((_q, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"tunnelId":');
    });
    const err = await rejection(client({ timeoutMs: 150, retries: 1 }).getDeviceTunnel());
    assert.ok(err instanceof ApiUnreachableError, String(err));
    assert.match(err.message, /timed out after 150 ms/);
    assert.equal(api.seen.length, 2);
  });

  it("extends the timeout by the long-poll wait and sends wait and since", async () => {
    api.answer((_q, res) =>
      setTimeout(() => json(res, 200, { ...deviceView, state: "started" }), 800),
    );
    const sut = client({ timeoutMs: 250, retries: 0 });
    const view = await sut.getDeviceTunnel({ waitSeconds: 2, since: TunnelState.Pending });
    assert.equal(view.state, "started");
    assert.equal(api.seen[0]!.url, "/v1/device/tunnel?wait=2&since=pending");

    const err = await rejection(sut.getDeviceTunnel());
    assert.ok(err instanceof ApiUnreachableError, "without a wait the same delay is a timeout");
  });

  it("leaves out query parameters it was not given", async () => {
    api.answer((_q, res) => json(res, 200, { tunnels: [] }));
    await client().listTunnels();
    await client().listTunnels(TunnelState.Running);
    assert.deepEqual(
      api.seen.map((s) => s.url),
      ["/v1/tunnels", "/v1/tunnels?state=running"],
    );
  });

  it("sends the bearer token, the enrollment secret and a JSON body", async () => {
    const answer = { tunnelId, token: deviceToken, expiresAt: deviceView.expiresAt };
    api.answer((_q, res) => json(res, 201, answer));
    const body = { deviceWgPublicKey: generateKeyPair().publicKey, network: "10.9.9.0/30" };
    const sut = client({ token: "ste_secret", userAgent: "support-device/0.1" });
    assert.deepEqual(await sut.createTunnel(body, "fleet-secret"), answer);
    const [seen] = api.seen;
    assert.equal(seen!.method, "POST");
    assert.equal(seen!.url, "/v1/device/tunnels");
    assert.equal(seen!.headers.authorization, "Bearer ste_secret");
    assert.equal(seen!.headers["x-enrollment-secret"], "fleet-secret");
    assert.equal(seen!.headers["content-type"], "application/json");
    assert.equal(seen!.headers["user-agent"], "support-device/0.1");
    assert.deepEqual(JSON.parse(seen!.body), body);
  });

  it("sends no authorization or enrollment header when it has none", async () => {
    const answer = { tunnelId, token: deviceToken, expiresAt: deviceView.expiresAt };
    api.answer((_q, res) => json(res, 201, answer));
    await client().createTunnel({
      deviceWgPublicKey: generateKeyPair().publicKey,
      network: "10.9.9.0/30",
    });
    assert.equal(api.seen[0]!.headers.authorization, undefined);
    assert.equal(api.seen[0]!.headers["x-enrollment-secret"], undefined);
  });

  it("calls each route with its method and path", async () => {
    const view = {
      ...deviceView,
      hostname: null,
      description: null,
      deviceWgPublicKey: generateKeyPair().publicKey,
      updatedAt: deviceView.createdAt,
      supportUser: null,
      approvedBy: null,
      endedAt: null,
    };
    api.answer((req, res) => {
      if (req.url === "/v1/whoami") return json(res, 200, { name: "alice", role: "admin" });
      if (req.url?.endsWith("/audit")) return json(res, 200, { entries: [] });
      if (req.url?.startsWith("/v1/engineers/")) return json(res, 204, null);
      if (req.url?.startsWith("/v1/device")) return json(res, 200, deviceView);
      return json(res, 200, view);
    });
    const sut = client();
    await sut.getTunnel(tunnelId, { waitSeconds: 1, since: TunnelState.Started });
    await sut.stopTunnel(tunnelId, "done");
    await sut.getAudit(tunnelId);
    await sut.whoami();
    await sut.revokeEngineer("bob");
    await sut.reportConnected("support1a2b");
    await sut.stopDeviceTunnel();
    assert.deepEqual(
      api.seen.map((s) => `${s.method} ${s.url} ${s.body}`),
      [
        `GET /v1/tunnels/${tunnelId}?wait=1&since=started `,
        `DELETE /v1/tunnels/${tunnelId} {"reason":"done"}`,
        `GET /v1/tunnels/${tunnelId}/audit `,
        "GET /v1/whoami ",
        "DELETE /v1/engineers/bob ",
        'POST /v1/device/tunnel/connected {"supportUser":"support1a2b"}',
        "DELETE /v1/device/tunnel {}",
      ],
    );
  });

  it("keeps a path prefix in the api url", async () => {
    api.answer((_q, res) => json(res, 200, { name: "alice", role: "viewer" }));
    await client({ baseUrl: `${baseUrl}/support/` }).whoami();
    assert.equal(api.seen[0]!.url, "/support/v1/whoami");
  });

  it("does not follow a redirect, so the token never goes elsewhere", async () => {
    const elsewhere = new FakeApi();
    const target = await elsewhere.start();
    try {
      api.answer((_q, res) => {
        res.writeHead(307, { location: `${target}/v1/whoami` });
        res.end();
      });
      const err = await rejection(client({ token: "ste_secret" }).whoami());
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 307);
      assert.match(err.message, new RegExp(`redirected GET /v1/whoami to ${target}/v1/whoami`));
      assert.equal(elsewhere.seen.length, 0);
    } finally {
      await elsewhere.stop();
    }
  });

  it("stops at once when the caller aborts, without retrying", async () => {
    api.answer(() => undefined);
    const controller = new AbortController();
    const pending = client().getDeviceTunnel({ waitSeconds: 30, signal: controller.signal });
    setTimeout(() => controller.abort(new Error("agent stopping")), 50);
    const err = await rejection(pending);
    assert.equal(err.message, "agent stopping");
    assert.equal(api.seen.length, 1);
    assert.deepEqual(delays, []);
  });

  describe("when an answer is lost on the way back", () => {
    let proxy: LossyProxy;
    let proxyUrl = "";
    const tunnelView = {
      ...deviceView,
      state: "started",
      hostname: null,
      description: null,
      deviceWgPublicKey: generateKeyPair().publicKey,
      updatedAt: deviceView.createdAt,
      server: null,
      supportUser: null,
      approvedBy: "alice",
      endedAt: null,
    };
    const approval = {
      instanceId: "lab:ts0b7e3f529a61",
      provider: "netns" as const,
      publicIp: "100.64.0.9",
      wgPort: 51820,
      wgPublicKey: generateKeyPair().publicKey,
      approval: "c2VhbGVk",
    };

    beforeEach(async () => {
      proxy = new LossyProxy(Number(new URL(baseUrl).port));
      proxyUrl = await proxy.start();
    });
    afterEach(() => proxy.stop());

    const posts = () => api.seen.filter((s) => s.method === "POST");

    it("sends createTunnel once, so a lost answer leaves no second (ghost) tunnel", async () => {
      proxy.dropAnswers(1);
      api.answer((_q, res) =>
        json(res, 201, { tunnelId, token: deviceToken, expiresAt: deviceView.expiresAt }),
      );
      const err = await rejection(
        client({ baseUrl: proxyUrl }).createTunnel({
          deviceWgPublicKey: generateKeyPair().publicKey,
          network: "10.9.9.0/30",
        }),
      );
      assert.ok(err instanceof ApiUnreachableError, String(err));
      assert.match(
        err.message,
        /POST \/v1\/device\/tunnels may have reached it, so it was not repeated/,
      );
      assert.equal(posts().length, 1, "the api saw one request");
      assert.deepEqual(delays, []);
    });

    it("never repeats an approval whose answer was lost (a repeat would be refused as a conflict)", async () => {
      proxy.dropAnswers(1);
      api.answer((_q, res) => json(res, 200, tunnelView));
      const err = await rejection(client({ baseUrl: proxyUrl }).approveTunnel(tunnelId, approval));
      assert.ok(err instanceof ApiUnreachableError, String(err));
      assert.equal(posts().length, 1);
      assert.equal(posts()[0]!.url, `/v1/tunnels/${tunnelId}/server`);
    });

    it("repeats reads and stops, which are safe to repeat", async () => {
      api.answer((_q, res) => json(res, 200, tunnelView));
      const sut = client({ baseUrl: proxyUrl });
      proxy.dropAnswers(1);
      assert.equal((await sut.getTunnel(tunnelId)).approvedBy, "alice");
      proxy.dropAnswers(1);
      assert.equal((await sut.stopTunnel(tunnelId, "done")).tunnelId, tunnelId);
      assert.deepEqual(
        api.seen.map((s) => s.method),
        ["GET", "GET", "DELETE", "DELETE"],
      );
      assert.deepEqual(delays, [100, 100]);
    });
  });

  it("sends a write again when the connection was refused: it never reached the api", async () => {
    const late = new FakeApi();
    const port = await freePort();
    late.answer((_q, res) =>
      json(res, 201, { tunnelId, token: deviceToken, expiresAt: deviceView.expiresAt }),
    );
    try {
      const sut = client({
        baseUrl: `http://127.0.0.1:${port}`,
        // The api comes up between the refused attempt and the next one.
        sleep: async (ms) => {
          delays.push(ms);
          await late.start(port);
        },
      });
      const created = await sut.createTunnel({
        deviceWgPublicKey: generateKeyPair().publicKey,
        network: "10.9.9.0/30",
      });
      assert.equal(created.tunnelId, tunnelId);
      assert.equal(late.seen.length, 1);
      assert.deepEqual(delays, [100]);
    } finally {
      await late.stop();
    }
  });

  it("does not repeat a write the api answered with a 5xx: it may have been done", async () => {
    api.answer(
      (_q, res) => json(res, 503, { statusCode: 503, message: "database restarting" }),
      (_q, res) => json(res, 201, { name: "bob", role: "viewer", token: "ste_x" }),
    );
    const err = await rejection(client().createEngineer({ name: "bob", role: "viewer" }));
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 503);
    assert.equal(api.seen.length, 1);
    assert.deepEqual(delays, []);
  });

  it("refuses an api url that is not http or https", () => {
    assert.throws(() => new SupportApiClient({ baseUrl: "not a url" }), /api url is not a URL/);
    assert.throws(() => new SupportApiClient({ baseUrl: "ftp://x" }), /must be http or https/);
  });
}
