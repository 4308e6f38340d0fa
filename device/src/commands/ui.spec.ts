import * as assert from "node:assert/strict";
import type { PresharedKey } from "@support-tunnel/common";
import { Readable } from "node:stream";
import { contextFrom } from "../context";
import { createPrinter } from "../printer";
import { createHarness, eventually, type Harness } from "../test/fakes";
import { verifyPassword } from "../ui/password";
import { ui } from "./ui";

describe("support-device ui", () => {
  let h: Harness;
  let stdout: string;
  let stderr: string;
  let abort: AbortController;

  beforeEach(() => {
    h = createHarness();
    stdout = "";
    stderr = "";
    abort = new AbortController();
  });
  afterEach(() => {
    abort.abort();
    h.cleanup();
  });

  function context() {
    const out = { write: (s: string) => (stdout += s) };
    const printer = createPrinter({
      json: false,
      streams: { stdout: out, stderr: { write: (s: string) => (stderr += s) } },
    });
    return contextFrom(h.deps, printer, abort.signal, out);
  }

  it("serves the page until stopped, and connects a tunnel requested on it once approved", async () => {
    const serving = ui(context(), { listen: "127.0.0.1:0" });
    await eventually(() => /consent page: http:\/\//.test(stdout), "the page's address");
    const url = /consent page: (\S+)/.exec(stdout)![1]!;
    const session = await fetch(new URL("/api/session", url));
    const { csrfToken } = (await session.json()) as { csrfToken: string };
    const created = await fetch(new URL("/api/tunnels", url), {
      method: "POST",
      headers: {
        Origin: new URL(url).origin,
        Cookie: session.headers.get("set-cookie")!.split(";")[0]!,
        "X-CSRF-Token": csrfToken,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ description: "printer is offline" }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { tunnelId, presharedKey } = (await created.json()) as {
      tunnelId: string;
      presharedKey: string;
    };
    h.api.approve(tunnelId, presharedKey as PresharedKey);
    await h.clock.runUntil(async () => (await h.store.read(tunnelId))?.phase === "up", "up");
    assert.equal(h.wg.up_.size, 1);

    abort.abort();
    await serving;
    await assert.rejects(fetch(new URL("/api/session", url)), "it no longer listens");
  });

  it("prints the hash of a password read on stdin, and never the password", async () => {
    await ui(context(), {
      hashPassword: true,
      input: Readable.from(["correct horse battery\n", "ignored"]),
    });
    const hash = stdout.trim();
    assert.equal(await verifyPassword("correct horse battery", hash), true);
    assert.ok(!(stdout + stderr).includes("correct horse"));
    assert.match(stderr, /"ui": \{ "passwordHash"/);
  });

  it("refuses a short password (exit 2)", async () => {
    await assert.rejects(
      ui(context(), { hashPassword: true, input: Readable.from(["short\n"]) }),
      (err: { exitCode: number; message: string }) =>
        err.exitCode === 2 && /at least 10 characters/.test(err.message),
    );
    assert.equal(stdout, "");
  });
});
