// `support engineers revoke` asking on a terminal, and `support audit` (the whole
// log) printing a lying api's text as visible escapes, against stand-in apis.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Printer, SupportApiClient } from "@support-tunnel/common";
import type { Context } from "../context";
import { main } from "../cli";
import { CliError } from "../errors";
import { engineersRevoke } from "./engineers";

describe("support engineers revoke on a terminal", () => {
  function fakeContext(revoked: string[]): Context {
    const out = { write: () => true } as unknown as NodeJS.WritableStream;
    return {
      printer: new Printer({ stdout: out, stderr: out, json: false, tty: false }),
      env: { stdinIsTty: true } as Context["env"],
      config: {} as Context["config"],
      api: () =>
        ({
          revokeEngineer: async (name: string) => {
            revoked.push(name);
          },
        }) as unknown as SupportApiClient,
      records: () => {
        throw new Error("not used");
      },
    };
  }

  it("asks first, naming who and what ends, and revokes only on yes", async () => {
    const revoked: string[] = [];
    const asked: string[] = [];
    const sut = (answer: boolean) =>
      engineersRevoke({
        name: "carl",
        ctx: fakeContext(revoked),
        confirm: async (q) => (asked.push(q), answer),
      });
    await assert.rejects(sut(false), (err: CliError) => /carl not revoked/.test(err.message));
    assert.deepEqual(revoked, []);
    assert.match(asked[0]!, /^revoke carl\? .*live tunnel.*\[y\/N\] $/);
    await sut(true);
    assert.deepEqual(revoked, ["carl"]);
  });

  it("does not ask with --yes", async () => {
    const revoked: string[] = [];
    await engineersRevoke({
      name: "carl",
      yes: true,
      ctx: fakeContext(revoked),
      confirm: () => Promise.reject(new Error("asked")),
    });
    assert.deepEqual(revoked, ["carl"]);
  });
});

describe("support audit (the whole log) from a lying api", () => {
  let dir: string;
  let server: Server;
  let url: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "support-audit-log-"));
    server = createServer((_, res) => {
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          entries: [
            {
              id: "e1",
              tunnelId: null,
              actor: "engineer:mallory\u001b[2J",
              action: "engineer.create\u202e",
              detail: "bob as admin\u001b]0;owned\u0007\r\nfake line",
              clientAddress: "10.0.0.1\u200b",
              at: new Date().toISOString(),
            },
          ],
          nextCursor: null,
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("prints every untrusted field with visible escapes, never a control character", async () => {
    let stdout = "";
    const code = await main(["node", "support", "audit"], {
      stdout: { write: (s: string) => ((stdout += s), true) } as never,
      stderr: { write: () => true } as never,
      env: {
        HOME: dir,
        SUPPORT_ADMIN_CONFIG: join(dir, "admin.json"),
        SUPPORT_API_URL: url,
        SUPPORT_TOKEN: `ste_${"t".repeat(43)}`,
      },
    });
    assert.equal(code, 0);
    const unsafe = [...stdout].filter((ch) => {
      const code = ch.codePointAt(0)!;
      return (code < 0x20 && ch !== "\n") || code === 0x7f || ch === "\u200b" || ch === "\u202e";
    });
    assert.deepEqual(unsafe, []);
    assert.equal(stdout.trim().split("\n").length, 2, "the header and one line");
    assert.match(stdout, /engineer:mallory\\x1b\[2J/);
    assert.match(stdout, /bob as admin\\x1b\]0;owned\\x07\\x0d\\x0afake line/);
    assert.match(stdout, /engineer\.create\\u202e +- +10\.0\.0\.1\\u200b/);
  });
});
