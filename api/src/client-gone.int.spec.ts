import assert from "node:assert/strict";
import {
  SupportApiClient,
  TunnelState,
  generateKeyPair,
  type CreateTunnelResponse,
} from "@support-tunnel/common";
import { eventually, waitFor } from "@support-tunnel/testkit";
import { rawExchange } from "./testing/raw-exchange";
import { requestTestTunnel, startTestApi, useTestDatabase, type TestApi } from "./testing/test-api";
import { loggingInto } from "./testing/logged-lines";

/** A valid request followed by bytes no HTTP parser accepts, on the same connection. */
function pipelinedWithGarbage(request: string): string {
  return `${request}GARBAGE \u0001\u0002 not http\r\n\r\n`;
}

function httpRequest(method: string, path: string, token: string, body?: unknown): string {
  const payload = body === undefined ? "" : JSON.stringify(body);
  return [
    `${method} ${path} HTTP/1.1`,
    "Host: api",
    `Authorization: Bearer ${token}`,
    ...(body === undefined ? [] : ["Content-Type: application/json"]),
    `Content-Length: ${Buffer.byteLength(payload)}`,
    "",
    payload,
  ].join("\r\n");
}

describe("api: a client that goes away before its answer (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestDatabase();
  const lines: Record<string, unknown>[] = [];
  let api: TestApi | undefined;
  let admin: SupportApiClient;

  before(async () => {
    api = await startTestApi(pg.db.url, {}, { logger: loggingInto(lines) });
    admin = new SupportApiClient({ baseUrl: api.url, token: api.adminToken, retries: 0 });
  });

  after(async () => {
    await api?.close();
  });

  /** The request line logged for `method path`, once there is one. */
  function requestLine(method: string, path: string): Promise<Record<string, unknown>> {
    return eventually(() => {
      const line = lines.find((l) => {
        const req = l.req as { method?: string; url?: string } | undefined;
        return req?.method === method && req.url === path;
      });
      assert.ok(line, `no log line for ${method} ${path}`);
      return line;
    });
  }

  /**
   * Waits until the api is done with the request: either it changed the tunnel
   * or it logged that it changed nothing, then asserts nothing changed.
   */
  async function assertUnchanged(
    tunnelId: CreateTunnelResponse["tunnelId"],
    path: string,
  ): Promise<void> {
    const refusedLine = () =>
      lines.find(
        (l) =>
          (l.req as { url?: string } | undefined)?.url === path &&
          /nothing was changed/.test(String(l.msg)),
      );
    await waitFor(
      async () =>
        refusedLine() !== undefined ||
        (await admin.getTunnel(tunnelId)).state !== TunnelState.Pending,
      `${path} to be handled`,
    );
    const view = await admin.getTunnel(tunnelId);
    assert.equal(view.state, TunnelState.Pending);
    assert.equal(refusedLine()?.clientAddress, "127.0.0.1");
    const { entries } = await admin.getAudit(tunnelId);
    assert.deepEqual(
      entries.map((e) => [e.action, e.clientAddress]),
      [["tunnel.request", "127.0.0.1"]],
    );
  }

  it("does not stop a tunnel whose DELETE came with garbage behind it, and logs the request with the client's address", async () => {
    const { tunnelId } = (await requestTestTunnel(api!.url)).created;
    const path = `/v1/tunnels/${tunnelId}`;
    const answer = await rawExchange(
      api!.url,
      pipelinedWithGarbage(httpRequest("DELETE", path, api!.adminToken)),
    );
    // What the client saw: a 400 for the connection, never the DELETE's answer.
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.doesNotMatch(answer, /completed/);
    await assertUnchanged(tunnelId, path);
    const line = await requestLine("DELETE", path);
    assert.equal(line.clientAddress, "127.0.0.1");
    assert.match(String(line.msg), /aborted/);
  });

  it("does not record an approval that came with garbage behind it, and logs the request with the client's address", async () => {
    const { tunnelId } = (await requestTestTunnel(api!.url)).created;
    const path = `/v1/tunnels/${tunnelId}/server`;
    const answer = await rawExchange(
      api!.url,
      pipelinedWithGarbage(
        httpRequest("POST", path, api!.adminToken, {
          instanceId: "netns-1",
          provider: "netns",
          publicIp: "203.0.113.9",
          wgPort: 51820,
          wgPublicKey: generateKeyPair().publicKey,
          approval: "c2VhbGVk",
        }),
      ),
    );
    assert.match(answer, /^HTTP\/1\.1 400 /);
    await assertUnchanged(tunnelId, path);
    const line = await requestLine("POST", path);
    assert.equal(line.clientAddress, "127.0.0.1");
    assert.match(String(line.msg), /aborted/);
  });

  it("answers a valid request alone on a raw connection, and logs it as answered", async () => {
    const { tunnelId } = (await requestTestTunnel(api!.url)).created;
    const path = `/v1/tunnels/${tunnelId}`;
    const answer = await rawExchange(
      api!.url,
      httpRequest("DELETE", path, api!.adminToken).replace(
        "Host: api",
        "Host: api\r\nConnection: close",
      ),
    );
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.equal((await admin.getTunnel(tunnelId)).state, TunnelState.Completed);
    const line = await requestLine("DELETE", path);
    assert.equal(line.msg, "request");
    assert.equal(line.clientAddress, "127.0.0.1");
  });
});
