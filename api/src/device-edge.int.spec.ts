// The device edge (http/device-edge.ts) answers GET /v1/device/tunnel ahead of
// Nest. What it decides itself is checked here against Nest's own answer to
// the same request: a request with a validator (If-None-Match) is left to
// express, which answers it as the Nest route always did (and, unlike the
// edge, with an ETag, which tells the two apart).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { TunnelState } from "@support-tunnel/common";
import { eventually } from "@support-tunnel/testkit";
import { LISTEN_BACKLOG } from "./commands/serve";
import { createLogger } from "./http/logging";
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

/** A logger at info whose lines land in `lines`. */
function loggingInto(lines: Record<string, unknown>[]) {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return createLogger("info", sink);
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
