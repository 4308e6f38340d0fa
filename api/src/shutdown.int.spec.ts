import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import * as nodeHttp from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SupportApiClient, generateKeyPair } from "@support-tunnel/common";
import { startApiProcess, type ApiProcess } from "@support-tunnel/lab";
import { http } from "./testing/test-api";

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
}

/** One GET through `agent` (keep-alive), as a device agent polls. */
function get(agent: nodeHttp.Agent, url: string, token: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = nodeHttp.get(
      url,
      { agent, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
  });
}

/** Logged JSON lines of `output` with the message `msg`. */
function logLines(output: string, msg: string): Record<string, unknown>[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.msg === msg);
}

describe("support-api shutdown", function () {
  this.timeout(120_000);
  let tmp: string;
  let first: ApiProcess | undefined;
  let second: ApiProcess | undefined;

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "st-api-shutdown-"));
  });

  after(async () => {
    await first?.stop();
    await second?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("answers a held long-poll, lets a polling client go, stops on SIGTERM and frees its data directory", async () => {
    const dataDir = join(tmp, "data");
    first = await startApiProcess({ dataDir, env: { LOG_LEVEL: "warn" } });
    const created = await new SupportApiClient({ baseUrl: first.url, retries: 0 }).createTunnel({
      deviceWgPublicKey: generateKeyPair().publicKey,
      network: "192.168.77.0/30",
    });
    const pollUrl = `${first.url}/v1/device/tunnel`;

    // A device holding a long-poll on one keep-alive connection...
    const holder = new nodeHttp.Agent({ keepAlive: true, maxSockets: 1 });
    const held = get(holder, `${pollUrl}?wait=30`, created.token);
    // ...and a client polling as fast as it can on another, as a busy agent would.
    const looper = new nodeHttp.Agent({ keepAlive: true, maxSockets: 1 });
    const loopAnswers: Answer[] = [];
    const loop = (async (): Promise<unknown> => {
      for (;;) {
        try {
          loopAnswers.push(await get(looper, pollUrl, created.token));
        } catch (err) {
          return err;
        }
      }
    })();
    while (loopAnswers.length < 5) await new Promise((resolve) => setTimeout(resolve, 20));

    await first.stop(); // SIGTERM; SIGKILL only if it is still running 10 s later
    const exit = await first.process;
    assert.equal(exit.signal, undefined, `support-api had to be killed:\n${first.output()}`);
    assert.equal(exit.exitCode, 0, first.output());

    // The held long-poll was answered with the current state, and told the connection closes.
    const answer = await held;
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.body) as { state: string }).state, "pending");
    assert.equal(answer.connection, "close");
    // The polling client was let go: its next request found no server, none got an error status.
    const loopEnd = (await loop) as NodeJS.ErrnoException;
    assert.match(String(loopEnd.code), /^(ECONNREFUSED|ECONNRESET)$/);
    assert.deepEqual(
      loopAnswers.filter((a) => a.status !== 200),
      [],
    );
    // The stop is logged, even at LOG_LEVEL=warn.
    const stopped = logLines(first.output(), "stopped");
    assert.equal(stopped.length, 1, first.output());
    assert.equal(stopped[0]!.wokenLongPolls, 1);
    assert.equal(stopped[0]!.forcedConnections, false);
    holder.destroy();
    looper.destroy();

    // The data directory is free at once (a lock left behind would refuse this for 20 s).
    second = await startApiProcess({ dataDir, env: { LOG_LEVEL: "warn" } });
    const again = await http(second.url, "GET", "/v1/device/tunnel", { token: created.token });
    assert.equal(again.status, 200);
    assert.equal(again.body.state, "pending");
  });
});
