// `support` against a stand-in api on loopback: what an engineer sees from list
// and show, ids typed in every form, and paging followed to the end.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, TunnelState, tunnelCode, type TunnelView } from "@support-tunnel/common";
import { main } from "./cli";

const HOUR = 3600_000;

function tunnel(id: string, state: TunnelState, ageMs: number, extra: Partial<TunnelView> = {}) {
  const created = Date.now() - ageMs;
  return {
    tunnelId: id,
    state,
    network: "10.20.30.0/30",
    hostname: "kiosk-7",
    description: "printer queue is stuck and nobody knows why it happened this morning",
    deviceWgPublicKey: generateKeyPair().publicKey,
    createdAt: new Date(created).toISOString(),
    updatedAt: new Date(created).toISOString(),
    // 30 s more, so a minute rounded down reads the same however slow the test runs
    expiresAt: new Date(created + 2 * HOUR + 30_000).toISOString(),
    server: null,
    supportUser: null,
    approvedBy: null,
    stoppedBy: null,
    stopReason: null,
    endedAt: null,
    ticket: null,
    notBefore: null,
    allowedEngineers: null,
    allowedPorts: [],
    ...extra,
  } as TunnelView;
}

const LIVE = "3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e";
const LIVE_TOO = "3f2b0000-0000-4000-8000-000000000000";
const ENDED = "aaaa0000-0000-4000-8000-000000000000";

describe("support against an api", () => {
  let dir: string;
  let server: http.Server;
  let url: string;
  const asked: string[] = [];
  const tunnels = [
    tunnel(LIVE, TunnelState.Running, 30 * 60_000),
    tunnel(LIVE_TOO, TunnelState.Pending, 2 * HOUR + 5 * 60_000),
    tunnel(ENDED, TunnelState.Completed, 3 * HOUR, {
      endedAt: new Date(Date.now() - 2 * HOUR).toISOString(),
    }),
  ];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "support-api-"));
    // Pages of one tunnel each, so every list follows the cursor to the end.
    server = http.createServer((req, res) => {
      asked.push(req.url!);
      const u = new URL(req.url!, "http://x");
      res.setHeader("content-type", "application/json");
      if (u.pathname === "/v1/tunnels") {
        const live = u.searchParams.get("live") === "1";
        const shown = tunnels.filter(
          (t) => !live || [TunnelState.Pending, TunnelState.Running].includes(t.state),
        );
        const at = Number(u.searchParams.get("cursor") ?? "0");
        const next = at + 1 < shown.length ? String(at + 1) : null;
        res.end(JSON.stringify({ tunnels: shown.slice(at, at + 1), nextCursor: next }));
        return;
      }
      const found = tunnels.find((t) => u.pathname === `/v1/tunnels/${t.tunnelId}`);
      res.statusCode = found ? 200 : 404;
      res.end(JSON.stringify(found ?? { statusCode: 404, message: "tunnel not found" }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => (asked.length = 0));

  async function run(args: string[], tty?: { columns: number }) {
    let stdout = "";
    let stderr = "";
    const code = await main(["node", "support", ...args], {
      stdout: {
        write: (s: string) => ((stdout += s), true),
        isTTY: Boolean(tty),
        columns: tty?.columns,
      } as never,
      stderr: { write: (s: string) => ((stderr += s), true) } as never,
      env: {
        HOME: dir,
        SUPPORT_ADMIN_CONFIG: join(dir, "admin.json"),
        SUPPORT_API_URL: url,
        SUPPORT_TOKEN: `ste_${"t".repeat(43)}`,
      },
    });
    return { code, stdout, stderr };
  }

  it("lists the live tunnels by default, every page of them, with their age", async () => {
    const r = await run(["list"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0]!, /^ID +STATE .* AGE +OPENS +ENDS +DESCRIPTION$/);
    assert.equal(lines.length, 3);
    assert.match(r.stdout, new RegExp(`^${LIVE} +running .* 30 min +- +in 1 h 30 min `, "m"));
    assert.match(r.stdout, new RegExp(`^${LIVE_TOO} +pending .* 2 h 5 min +- +4 min ago `, "m"));
    assert.ok(!r.stdout.includes(ENDED));
    assert.ok(asked.every((a) => a.includes("live=1")));
    assert.ok(
      asked.some((a) => a.includes("cursor=1")),
      "the second page was asked for",
    );
  });

  it("lists ended tunnels too with --all, saying when they ended", async () => {
    const r = await run(["list", "--all"]);
    assert.match(r.stdout, new RegExp(`^${ENDED} +completed .* 3 h +- +2 h ago `, "m"));
  });

  it("prints {tunnels: [...]} with --json, as support-device list does", async () => {
    const r = await run(["list", "--all", "--json"]);
    const printed = JSON.parse(r.stdout) as { tunnels: TunnelView[] };
    assert.deepEqual(
      printed.tunnels.map((t) => t.tunnelId),
      [LIVE, LIVE_TOO, ENDED],
    );
  });

  it("cuts the table to the terminal's width, and only on a terminal", async () => {
    const narrow = await run(["list"], { columns: 60 });
    for (const line of narrow.stdout.trimEnd().split("\n")) assert.ok([...line].length <= 60, line);
    assert.match(narrow.stdout, /…$/m);
    const piped = await run(["list"]);
    assert.match(piped.stdout, /nobody knows why it happened this morning$/m);
  });

  it("shows a tunnel named by a unique start of its id or its code", async () => {
    for (const typed of ["3f2b8", tunnelCode(LIVE).slice(0, 6).toLowerCase(), tunnelCode(LIVE)]) {
      const r = await run(["show", typed, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as TunnelView).tunnelId, LIVE);
    }
  });

  it("refuses an ambiguous start with exit 2 and an unknown one with exit 5", async () => {
    const ambiguous = await run(["show", "3f2b"]);
    assert.equal(ambiguous.code, 2);
    assert.match(ambiguous.stderr, /is the start of 2 tunnels/);
    const unknown = await run(["audit", "ffff"]);
    assert.equal(unknown.code, 5);
    assert.match(unknown.stderr, /no tunnel's id or code starts with "ffff"/);
  });
});
