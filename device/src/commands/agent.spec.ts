import * as assert from "node:assert/strict";
import type { PresharedKey } from "@support-tunnel/common";
import { contextFrom } from "../context";
import { createPrinter } from "../printer";
import { createHarness, eventually, type Harness } from "../test/fakes";
import { agent } from "./agent";

describe("support-device agent --ui", () => {
  let h: Harness;
  let stdout: string;
  let abort: AbortController;

  beforeEach(() => {
    h = createHarness();
    stdout = "";
    abort = new AbortController();
  });
  afterEach(() => {
    abort.abort();
    h.cleanup();
  });

  it("serves the consent page while it runs, and connects what is asked for there", async () => {
    const out = { write: (s: string) => (stdout += s) };
    const printer = createPrinter({
      json: false,
      streams: { stdout: out, stderr: { write: () => true } },
    });
    const running = agent(contextFrom(h.deps, printer, abort.signal, out), {
      ui: true,
      listen: "127.0.0.1:0",
    });
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
      body: "{}",
    });
    assert.equal(created.status, 201);
    const { tunnelId, presharedKey } = (await created.json()) as {
      tunnelId: string;
      presharedKey: string;
    };
    h.api.approve(tunnelId, presharedKey as PresharedKey);
    await h.clock.runUntil(async () => (await h.store.read(tunnelId))?.phase === "up", "up");

    abort.abort();
    await running;
    await assert.rejects(fetch(new URL("/api/session", url)), "the page stops with the agent");
  });
});
