// The lying api's proxy: rewrites what it is told to, passes the rest through untouched.
import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { answerWith, pathOf, startRewritingProxy, type RewritingProxy } from "./rewriting-proxy";

describe("rewriting proxy", () => {
  let upstream: http.Server;
  let upstreamUrl: string;
  let proxy: RewritingProxy | undefined;
  const seen: { method?: string; url?: string; body: string }[] = [];
  let slowClosed: Promise<void>;
  let onSlowClosed: () => void;

  beforeEach(async () => {
    seen.length = 0;
    slowClosed = new Promise((resolve) => (onSlowClosed = resolve));
    upstream = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push({ method: req.method, url: req.url, body });
        if (req.url === "/slow") {
          res.on("close", () => onSlowClosed());
          return; // never answers: a long-poll the client gives up on
        }
        if (req.url?.startsWith("/json")) {
          res.writeHead(201, { "content-type": "application/json" });
          res.end(JSON.stringify({ expiresAt: "2030-01-01T00:00:00.000Z", n: 1 }));
          return;
        }
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("plain text");
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  it("rewrites the JSON answers its rule matches and records what the api really said", async () => {
    proxy = await startRewritingProxy({
      upstream: upstreamUrl,
      rewrite: (exchange) =>
        pathOf(exchange) === "/json"
          ? { ...(exchange.body as object), expiresAt: "2099-01-01T00:00:00.000Z" }
          : undefined,
    });

    const rewritten = await fetch(`${proxy.url}/json?wait=5`, { method: "POST", body: "{}" });
    const other = await fetch(`${proxy.url}/json-other`);

    assert.equal(rewritten.status, 201);
    assert.deepEqual(await rewritten.json(), { expiresAt: "2099-01-01T00:00:00.000Z", n: 1 });
    assert.deepEqual(await other.json(), { expiresAt: "2030-01-01T00:00:00.000Z", n: 1 });
    assert.deepEqual(seen[0], { method: "POST", url: "/json?wait=5", body: "{}" });
    assert.deepEqual(proxy.exchanges[0], {
      method: "POST",
      path: "/json?wait=5",
      status: 201,
      body: { expiresAt: "2030-01-01T00:00:00.000Z", n: 1 },
    });
  });

  it("answers with a status of its own when the rule says so", async () => {
    proxy = await startRewritingProxy({
      upstream: upstreamUrl,
      rewrite: () => answerWith(409, { statusCode: 409, message: "lie" }),
    });
    const answer = await fetch(`${proxy.url}/json`);
    assert.equal(answer.status, 409);
    assert.deepEqual(await answer.json(), { statusCode: 409, message: "lie" });
    assert.equal(proxy.exchanges[0]?.status, 201);
  });

  it("passes answers that are not JSON through untouched", async () => {
    proxy = await startRewritingProxy({ upstream: upstreamUrl, rewrite: () => ({ lie: true }) });
    const answer = await fetch(`${proxy.url}/text`);
    assert.equal(await answer.text(), "plain text");
  });

  it("gives up upstream when the client gives up", async () => {
    proxy = await startRewritingProxy({ upstream: upstreamUrl });
    const client = new AbortController();
    const pending = fetch(`${proxy.url}/slow`, { signal: client.signal }).catch(() => undefined);
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    client.abort();
    await pending;
    await slowClosed;
  });
});
