// The device edge (http/device-edge.ts) answers the device's GET and DELETE of
// /v1/device/tunnel ahead of Nest. What it decides itself is checked here
// against Nest's own answer to the same request, spelt so the edge leaves it
// to express, which answers it as the Nest route always did (and, unlike the
// edge, with an ETag, which tells the two apart): a GET with a validator
// (If-None-Match), a DELETE of the path with a trailing slash.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { promisify } from "node:util";
import { SupportApiClient, TunnelState } from "@support-tunnel/common";
import { eventually } from "@support-tunnel/testkit";
import { LISTEN_BACKLOG } from "./commands/serve";
import { loggingInto } from "./testing/logged-lines";
import { rawExchange } from "./testing/raw-exchange";
import {
  requestTestTunnel,
  startTestApi,
  useTestDatabase,
  type TestApi,
  type TestTunnel,
} from "./testing/test-api";

const execFileAsync = promisify(execFile);

interface Answer {
  status: number;
  etag: string | null;
  body: unknown;
}

/** The request line of the request that sent X-Request-Id `id`, once there is one. */
function requestLine(lines: Record<string, unknown>[], id: string) {
  return eventually(() => {
    const found = lines.find((l) => (l.req as { id?: string } | undefined)?.id === id);
    assert.ok(found, `no request line for ${id}`);
    return found;
  });
}

describe("api: the device edge for GET /v1/device/tunnel (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestDatabase();
  const lines: Record<string, unknown>[] = [];
  let api: TestApi | undefined;
  let tunnel: TestTunnel;

  before(async () => {
    api = await startTestApi(pg.db.url, {}, { logger: loggingInto(lines) });
    tunnel = await requestTestTunnel(api.url);
  });

  after(async () => {
    await api?.close();
  });

  async function get(
    path: string,
    headers: Record<string, string>,
    method = "GET",
  ): Promise<Answer> {
    const res = await fetch(api!.url + path, { method, headers });
    const text = await res.text();
    return {
      status: res.status,
      etag: res.headers.get("etag"),
      body: text ? (JSON.parse(text) as unknown) : null,
    };
  }

  /** The edge's answer and Nest's (the same request with a validator that matches nothing). */
  async function bothAnswers(path: string, headers: Record<string, string>) {
    const edge = await get(path, headers);
    const nest = await get(path, { ...headers, "if-none-match": '"matches-nothing"' });
    assert.equal(edge.etag, null, "the edge answered");
    assert.notEqual(nest.etag, null, "express answered");
    return { edge, nest };
  }

  const bearer = () => ({ authorization: `Bearer ${tunnel.created.token}` });

  it("answers every request as Nest does: the view, and each malformed one with the same 4xx", async () => {
    const cases: { what: string; path: string; headers: Record<string, string>; status: number }[] =
      [
        { what: "a poll", path: "", headers: bearer(), status: 200 },
        { what: "no wait", path: "?wait=0", headers: bearer(), status: 200 },
        { what: "a changed since", path: "?wait=5&since=started", headers: bearer(), status: 200 },
        { what: "no token", path: "", headers: {}, status: 401 },
        { what: "not bearer", path: "", headers: { authorization: "Basic abc" }, status: 401 },
        {
          what: "an engineer token",
          path: "",
          headers: { authorization: `Bearer ${api!.adminToken}` },
          status: 401,
        },
        {
          what: "an unknown token",
          path: "",
          headers: { authorization: `Bearer ${tunnel.created.token.slice(0, -4)}AAAA` },
          status: 401,
        },
        { what: "a bad token before a bad wait", path: "?wait=x", headers: {}, status: 401 },
        { what: "a word for wait", path: "?wait=soon", headers: bearer(), status: 400 },
        { what: "a negative wait", path: "?wait=-1", headers: bearer(), status: 400 },
        { what: "a wait too long", path: "?wait=3600", headers: bearer(), status: 400 },
        { what: "two waits", path: "?wait=1&wait=2", headers: bearer(), status: 400 },
        { what: "an unknown since", path: "?wait=1&since=asleep", headers: bearer(), status: 400 },
        { what: "a bad wait and since", path: "?since=x&wait=x", headers: bearer(), status: 400 },
        {
          what: "a malformed x-device-id (not read on this route)",
          path: "",
          headers: { ...bearer(), "x-device-id": "not a uuid" },
          status: 200,
        },
      ];
    for (const c of cases) {
      const { edge, nest } = await bothAnswers(`/v1/device/tunnel${c.path}`, c.headers);
      assert.equal(nest.status, c.status, `${c.what}: Nest's status`);
      assert.deepEqual(
        { status: edge.status, body: edge.body },
        { status: nest.status, body: nest.body },
        c.what,
      );
    }
    const { edge } = await bothAnswers("/v1/device/tunnel?wait=soon", bearer());
    assert.equal((edge.body as { field?: string }).field, "wait");
    const since = await bothAnswers("/v1/device/tunnel?wait=1&since=asleep", bearer());
    assert.equal((since.edge.body as { field?: string }).field, "since");
  });

  it("leaves HEAD and the other methods on the path to Nest, answered as before", async () => {
    const head = await get("/v1/device/tunnel", bearer(), "HEAD");
    assert.equal(head.status, 200);
    assert.notEqual(head.etag, null, "express answered the HEAD");
    for (const method of ["PUT", "PATCH", "OPTIONS"]) {
      const other = await get("/v1/device/tunnel", bearer(), method);
      assert.equal(other.status, 404, method);
      assert.equal(
        (other.body as { message?: string }).message,
        `Cannot ${method} /v1/device/tunnel`,
      );
    }
  });

  it("counts a long-poll in its own histogram and a poll in the request latencies", async () => {
    const count = async (name: string) => {
      const text = await (await fetch(`${api!.url}/metrics`)).text();
      const match = new RegExp(`^${name}_count\\{([^}]*)\\} (\\d+)$`, "m").exec(
        text
          .split("\n")
          .filter((l) => l.includes('route="/v1/device/tunnel"') && !l.includes('method="HEAD"'))
          .join("\n"),
      );
      return Number(match?.[2] ?? 0);
    };
    const polls = await count("support_api_http_request_duration_seconds");
    const longPolls = await count("support_api_long_poll_duration_seconds");
    const poll = await get("/v1/device/tunnel", bearer());
    assert.equal(poll.status, 200);
    // Held its whole second: the tunnel stays pending.
    const held = await get("/v1/device/tunnel?wait=1", bearer());
    assert.equal((held.body as { state?: string }).state, TunnelState.Pending);
    await eventually(async () => {
      assert.equal(await count("support_api_http_request_duration_seconds"), polls + 1);
      assert.equal(await count("support_api_long_poll_duration_seconds"), longPolls + 1);
    });
  });

  it("listens with a backlog for thousands of devices connecting at once", async () => {
    const { port } = new URL(api!.url);
    // For a listening socket, ss reports the backlog as its Send-Q.
    const { stdout } = await execFileAsync("ss", ["-ltnH", `sport = :${port}`]);
    const somaxconn = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8"));
    assert.equal(Number(stdout.trim().split(/\s+/)[2]), Math.min(LISTEN_BACKLOG, somaxconn));
  });

  it("stops waiting when the client goes away, and logs the request line as aborted", async () => {
    const waiting = async () => {
      const text = await (await fetch(`${api!.url}/metrics`)).text();
      return Number(/^support_api_long_polls_waiting (\d+)$/m.exec(text)?.[1]);
    };
    const { hostname, port } = new URL(api!.url);
    const req = httpRequest({
      host: hostname,
      port,
      path: "/v1/device/tunnel?wait=30",
      headers: { ...bearer(), "x-request-id": "edge-gone-1" },
    });
    req.on("error", () => undefined);
    req.end();
    await eventually(async () => assert.equal(await waiting(), 1));
    req.destroy();
    await eventually(async () => assert.equal(await waiting(), 0));
    const line = await requestLine(lines, "edge-gone-1");
    assert.equal(line.msg, "request aborted: the client went away before its answer");
    assert.equal(line.actor, "device");
    assert.equal(line.tunnelId, tunnel.created.tunnelId);
    assert.equal(line.clientAddress, "127.0.0.1");
  });
});

describe("api: the device edge for DELETE /v1/device/tunnel (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestDatabase();
  const lines: Record<string, unknown>[] = [];
  let api: TestApi | undefined;

  before(async () => {
    api = await startTestApi(pg.db.url, {}, { logger: loggingInto(lines) });
  });

  after(async () => {
    await api?.close();
  });

  interface Stop {
    /** Headers besides the token; `token` picks the tunnel's own, none or a wrong one. */
    headers?: Record<string, string>;
    body?: string;
    token?: "own" | "none" | "wrong";
  }

  async function stop(path: string, tunnel: TestTunnel, s: Stop): Promise<Answer> {
    const token = s.token ?? "own";
    const headers: Record<string, string> = { ...s.headers };
    if (token === "own") headers.authorization = `Bearer ${tunnel.created.token}`;
    if (token === "wrong") {
      headers.authorization = `Bearer ${tunnel.created.token.slice(0, -4)}AAAA`;
    }
    const res = await fetch(api!.url + path, { method: "DELETE", headers, body: s.body });
    const text = await res.text();
    return {
      status: res.status,
      etag: res.headers.get("etag"),
      body: text ? (JSON.parse(text) as unknown) : null,
    };
  }

  /** A view with what is its tunnel's own (its id, its network) checked and set aside. */
  function ofAnyTunnel(answer: Answer, tunnel: TestTunnel): unknown {
    const view = answer.body as { tunnelId?: string; network?: string };
    if (answer.status !== 200) return answer.body;
    assert.equal(view.tunnelId, tunnel.created.tunnelId);
    return { ...view, tunnelId: "its own", network: "its own" };
  }

  async function stateOf(tunnel: TestTunnel): Promise<TunnelState> {
    return (await tunnel.deviceClient.getDeviceTunnel()).state;
  }

  const json = { "content-type": "application/json" };

  it("answers the agent's stop and every malformed one as Nest does, and stops only on a 200", async () => {
    const cases: (Stop & { what: string; status: number; field?: string; ended?: true })[] = [
      { what: "the agent's {}", headers: json, body: "{}", status: 200 },
      { what: "a reason", headers: json, body: '{"reason":"done"}', status: 200 },
      {
        what: "a reason in UTF-8, spelt in capitals",
        headers: { "content-type": "Application/JSON; Charset=UTF-8" },
        body: '{"reason":"été"}',
        status: 200,
      },
      { what: "no body", status: 200 },
      { what: "an empty JSON body", headers: json, body: "", status: 200 },
      { what: "a BOM before {}", headers: json, body: "\ufeff{}", status: 200 },
      { what: "invalid JSON", headers: json, body: "{reason", status: 400, field: "body" },
      { what: "a JSON string", headers: json, body: ' "done"', status: 400, field: "body" },
      { what: "only whitespace", headers: json, body: " \n", status: 400, field: "body" },
      { what: "an array", headers: json, body: "[]", status: 400, field: "body" },
      {
        what: "a number for reason",
        headers: json,
        body: '{"reason":5}',
        status: 400,
        field: "reason",
      },
      {
        what: "an unknown field",
        headers: json,
        body: '{"force":true}',
        status: 400,
        field: "force",
      },
      { what: "no token", headers: json, body: "{}", token: "none", status: 401 },
      { what: "a wrong token", headers: json, body: "{}", token: "wrong", status: 401 },
      {
        what: "a wrong token with invalid JSON (the body first)",
        headers: json,
        body: "{reason",
        token: "wrong",
        status: 400,
        field: "body",
      },
      {
        what: "a wrong token with a bad reason (the token first)",
        headers: json,
        body: '{"reason":5}',
        token: "wrong",
        status: 401,
      },
      {
        what: "an ended tunnel, stopped again",
        headers: json,
        body: '{"reason":"again"}',
        status: 200,
        ended: true,
      },
    ];
    for (const c of cases) {
      const [mine, nests] = [await requestTestTunnel(api!.url), await requestTestTunnel(api!.url)];
      if (c.ended) {
        for (const t of [mine, nests]) await t.deviceClient.stopDeviceTunnel("first");
      }
      const edge = await stop("/v1/device/tunnel", mine, c);
      const nest = await stop("/v1/device/tunnel/", nests, c);
      assert.equal(edge.etag, null, `${c.what}: the edge answered`);
      assert.notEqual(nest.etag, null, `${c.what}: express answered`);
      assert.equal(nest.status, c.status, `${c.what}: Nest's status`);
      assert.deepEqual(
        { status: edge.status, body: ofAnyTunnel(edge, mine) },
        { status: nest.status, body: ofAnyTunnel(nest, nests) },
        c.what,
      );
      if (c.field) assert.equal((edge.body as { field?: string }).field, c.field, c.what);
      const expected = c.status === 200 || c.ended ? TunnelState.Completed : TunnelState.Pending;
      assert.equal(await stateOf(mine), expected, `${c.what}: the tunnel's state`);
      if (c.ended) assert.equal((edge.body as { stopReason?: string }).stopReason, "first");
    }
  });

  it("leaves a body it does not read itself to express: refused as before, nothing stopped", async () => {
    const declined: (Stop & { what: string; status: number })[] = [
      { what: "text/plain", headers: { "content-type": "text/plain" }, body: "stop", status: 415 },
      {
        what: "another charset",
        headers: { "content-type": "application/json; charset=latin1" },
        body: "{}",
        status: 415,
      },
      {
        what: "an encoding",
        headers: { ...json, "content-encoding": "br-not-really" },
        body: "{}",
        status: 415,
      },
    ];
    for (const c of declined) {
      const tunnel = await requestTestTunnel(api!.url);
      const answer = await stop("/v1/device/tunnel", tunnel, c);
      assert.equal(answer.status, c.status, c.what);
      assert.notEqual(answer.etag, null, `${c.what}: express answered`);
      assert.equal(await stateOf(tunnel), TunnelState.Pending, c.what);
    }
  });

  it("stops nothing for a client gone before the stop, and logs the request as aborted", async () => {
    const tunnel = await requestTestTunnel(api!.url);
    // Garbage behind the request on its connection: node answers it 400 and
    // closes the connection while the DELETE is still at its token.
    const answer = await rawExchange(
      api!.url,
      [
        "DELETE /v1/device/tunnel HTTP/1.1",
        "Host: api",
        `Authorization: Bearer ${tunnel.created.token}`,
        "X-Request-Id: edge-stop-gone-1",
        "",
        "GARBAGE \u0001\u0002 not http",
        "",
        "",
      ].join("\r\n"),
    );
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.doesNotMatch(answer, /completed/);
    const line = await requestLine(lines, "edge-stop-gone-1");
    assert.equal(line.msg, "request aborted: the client went away before its answer");
    const refused = await eventually(() => {
      const found = lines.find((l) => /nothing was changed/.test(String(l.msg)));
      assert.ok(found, "no line saying nothing was changed");
      return found;
    });
    assert.equal(refused.clientAddress, "127.0.0.1");
    assert.equal(await stateOf(tunnel), TunnelState.Pending);
  });

  it("records the stop with its reason and address, wakes the long-poll, logs and counts it", async () => {
    const admin = new SupportApiClient({ baseUrl: api!.url, token: api!.adminToken, retries: 0 });
    const deleteCount = async () => {
      const text = await (await fetch(`${api!.url}/metrics`)).text();
      const match =
        /^support_api_http_request_duration_seconds_count\{method="DELETE",route="\/v1\/device\/tunnel"\} (\d+)$/m.exec(
          text,
        );
      return Number(match?.[1] ?? 0);
    };
    const counted = await deleteCount();
    const tunnel = await requestTestTunnel(api!.url);
    const longPoll = tunnel.deviceClient.getDeviceTunnel({ waitSeconds: 30 });
    await eventually(async () => {
      const text = await (await fetch(`${api!.url}/metrics`)).text();
      assert.equal(/^support_api_long_polls_waiting (\d+)$/m.exec(text)?.[1], "1");
    });
    const res = await fetch(`${api!.url}/v1/device/tunnel`, {
      method: "DELETE",
      headers: {
        ...json,
        authorization: `Bearer ${tunnel.created.token}`,
        "x-request-id": "edge-stop-1",
      },
      body: '{"reason":"done"}',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("etag"), null, "the edge answered");
    assert.equal(res.headers.get("x-request-id"), "edge-stop-1");
    const woken = await longPoll;
    assert.deepEqual(
      [woken.state, woken.stoppedBy, woken.stopReason],
      [TunnelState.Completed, "device", "done"],
    );
    const { entries } = await admin.getAudit(tunnel.created.tunnelId);
    const stopped = entries.find((e) => e.action === "tunnel.stop");
    assert.deepEqual(
      [stopped?.actor, stopped?.detail, stopped?.clientAddress],
      ["device", "done", "127.0.0.1"],
    );
    const line = await requestLine(lines, "edge-stop-1");
    assert.deepEqual(
      [line.msg, (line.req as { method?: string }).method, line.actor, line.tunnelId],
      ["request", "DELETE", "device", tunnel.created.tunnelId],
    );
    assert.equal(line.clientAddress, "127.0.0.1");
    await eventually(async () => assert.equal(await deleteCount(), counted + 1));
  });
});

describe("api: the device edge behind a trusted proxy (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestDatabase();
  const lines: Record<string, unknown>[] = [];
  let api: TestApi | undefined;

  before(async () => {
    api = await startTestApi(
      pg.db.url,
      { SUPPORT_TRUST_PROXY: "1" },
      { logger: loggingInto(lines) },
    );
  });

  after(async () => {
    await api?.close();
  });

  it("logs the poll with the client's address as the proxy gives it", async () => {
    const tunnel = await requestTestTunnel(api!.url);
    const res = await fetch(`${api!.url}/v1/device/tunnel`, {
      headers: {
        authorization: `Bearer ${tunnel.created.token}`,
        "x-forwarded-for": "203.0.113.50",
        "x-request-id": "edge-proxied-1",
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("etag"), null, "the edge answered");
    assert.equal(res.headers.get("x-request-id"), "edge-proxied-1");
    const line = await requestLine(lines, "edge-proxied-1");
    assert.equal(line.msg, "request");
    assert.equal(line.clientAddress, "203.0.113.50");
    assert.equal(line.tunnelId, tunnel.created.tunnelId);
  });
});
