import * as assert from "node:assert/strict";
import { main } from "./main";
import { createHarness, eventually, type Harness } from "./test/fakes";

describe("support-device (cli)", () => {
  let h: Harness;

  beforeEach(() => {
    h = createHarness();
  });
  afterEach(() => h.cleanup());

  async function sut(...argv: string[]) {
    let stdout = "";
    let stderr = "";
    const code = await main(["--state-dir", h.stateDir, "--api", "http://api.test", ...argv], {
      env: {},
      streams: {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
      },
      deps: (settings, log) => ({ ...h.deps, settings: { ...settings, hooks: {} }, log }),
      signal: new AbortController().signal,
    });
    return { code, stdout, stderr };
  }

  it("prints the tunnel id and the preshared key for the customer", async () => {
    const { code, stdout } = await sut("request");
    assert.equal(code, 0);
    assert.match(stdout, /^tunnel id: [0-9a-f-]{36}\npreshared key: [A-Za-z0-9+/]{43}=\n/);
  });

  it("prints {tunnelId, presharedKey, expiresAt} and the choices with --json and nothing else on stdout", async () => {
    const { code, stdout, stderr } = await sut("request", "--json", "--duration", "2h");
    assert.equal(code, 0);
    const printed = JSON.parse(stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(printed).sort(), [
      "allowedEngineers",
      "expiresAt",
      "notBefore",
      "presharedKey",
      "ticket",
      "tunnelId",
    ]);
    assert.deepEqual(
      [printed.allowedEngineers, printed.notBefore, printed.ticket],
      [null, null, null],
    );
    assert.equal(h.api.tunnels.get(printed.tunnelId!)!.request.ttlSeconds, 7200);
    assert.match(stderr, /Send the tunnel id and the preshared key to support/);
  });

  it("with --wait, stays until support approves, connects, and names the support user", async () => {
    const running = sut("request", "--wait", "--json");
    let id: string | undefined;
    await eventually(async () => {
      id = (await h.store.list())[0]?.tunnelId;
      return id !== undefined;
    }, "the request to be stored");
    h.api.approve(id!, (await h.store.read(id!))!.presharedKey);

    const { code, stdout, stderr } = await running;

    assert.equal(code, 0, stderr);
    assert.equal((JSON.parse(stdout) as { tunnelId: string }).tunnelId, id);
    assert.match(stderr, /connected: support user support[0-9a-f]{8}/);
    assert.equal(h.wg.up_.size, 1);
  });

  it("exits 3 and says why when the approval does not verify", async () => {
    const { stdout } = await sut("request", "--json");
    const { tunnelId } = JSON.parse(stdout) as { tunnelId: string };
    const record = (await h.store.read(tunnelId))!;
    h.api.approve(tunnelId, record.presharedKey, { tamper: true });

    const { code, stderr } = await sut("connect", tunnelId);

    assert.equal(code, 3);
    assert.match(stderr, /refusing the approval .* nothing was set up/);
  });

  it("takes --start, --ticket and a repeated --engineer, keeps them and tells the api", async () => {
    const { code, stdout, stderr } = await sut(
      "request",
      "--json",
      "--start",
      "+2h",
      "--duration",
      "30m",
      "--ticket",
      "ABC-123",
      "--engineer",
      "alice",
      "--engineer",
      "bob",
    );
    assert.equal(code, 0, stderr);
    const printed = JSON.parse(stdout) as {
      tunnelId: string;
      notBefore: string;
      expiresAt: string;
      ticket: string;
      allowedEngineers: string[];
    };
    const start = h.clock.now() + 2 * 3600_000;
    assert.equal(printed.notBefore, new Date(start).toISOString());
    assert.equal(Date.parse(printed.expiresAt), start + 30 * 60_000, "start + duration");
    assert.equal(printed.ticket, "ABC-123");
    assert.deepEqual(printed.allowedEngineers, ["alice", "bob"]);
    const sent = h.api.tunnels.get(printed.tunnelId)!.request;
    assert.deepEqual(
      [sent.notBefore, sent.ticket, sent.allowedEngineers],
      [printed.notBefore, "ABC-123", ["alice", "bob"]],
    );
    assert.match(stderr, /connects nothing before/);

    const status = await sut("status", printed.tunnelId);
    assert.match(status.stdout, /^ticket: ABC-123$/m);
    assert.match(status.stdout, /^allowed engineers: alice, bob$/m);
    assert.match(status.stdout, new RegExp(`^opens at: ${printed.notBefore}$`, "m"));
    assert.match(status.stdout, /^approved by: -$/m);
  });

  for (const [flag, value, message] of [
    ["--ticket", "ABC 123", /must be 1 to 64 letters/],
    ["--ticket", "a:b", /must be 1 to 64 letters/],
    ["--engineer", "Alice", /must be 2 to 32 lowercase letters/],
    ["--start", "soon", /give a time like/],
    ["--start", "2020-01-01T10:00", /is in the past/],
    ["--start", "+8d", /more than 7 days ahead/],
  ] as const) {
    it(`refuses ${flag} ${value} with exit 2 and requests nothing`, async () => {
      const { code, stderr } = await sut("request", flag, value);
      assert.equal(code, 2, stderr);
      assert.match(stderr, message);
      assert.equal(h.api.tunnels.size, 0);
      assert.deepEqual(await h.store.list(), []);
    });
  }

  it("refuses the same --engineer twice with exit 2", async () => {
    const { code, stderr } = await sut("request", "--engineer", "alice", "--engineer", "alice");
    assert.equal(code, 2);
    assert.match(stderr, /alice is named twice/);
  });

  it("exits 3 when the approval is by an engineer the customer did not allow, and creates nothing", async () => {
    const { stdout } = await sut("request", "--json", "--engineer", "alice");
    const { tunnelId } = JSON.parse(stdout) as { tunnelId: string };
    h.api.approve(tunnelId, (await h.store.read(tunnelId))!.presharedKey, { engineer: "bob" });

    const { code, stderr } = await sut("connect", tunnelId);

    assert.equal(code, 3);
    assert.match(
      stderr,
      /approved by bob, and the customer allowed only alice; nothing was set up/,
    );
    assert.equal(h.wg.up_.size, 0);
    assert.equal(h.users.users.size, 0);
  });

  it("exits 4 on connect before the start, saying when it opens, and creates nothing", async () => {
    const { stdout } = await sut("request", "--json", "--start", "+1h");
    const { tunnelId, notBefore } = JSON.parse(stdout) as { tunnelId: string; notBefore: string };
    h.api.approve(tunnelId, (await h.store.read(tunnelId))!.presharedKey);

    const { code, stderr } = await sut("connect", tunnelId);

    assert.equal(code, 4);
    assert.match(stderr, new RegExp(`opens at ${notBefore}, as the customer chose`));
    assert.equal(h.wg.up_.size, 0);
    assert.equal(h.users.users.size, 0);
  });

  it("exits 4 while the tunnel is not approved", async () => {
    const { stdout } = await sut("request", "--json");
    const { tunnelId } = JSON.parse(stdout) as { tunnelId: string };
    const { code, stderr } = await sut("connect", tunnelId);
    assert.equal(code, 4);
    assert.match(stderr, /not approved yet/);
  });

  it("exits 6, as support does, when the api cannot be reached", async () => {
    h.api.unreachable = true;
    const { code, stderr } = await sut("request");
    assert.equal(code, 6);
    assert.match(stderr, /unreachable/);
    assert.deepEqual(await h.store.list(), [], "nothing is stored for a request never made");
  });

  it("exits 2 on a duration outside one minute to seven days", async () => {
    const { code, stderr } = await sut("request", "--duration", "30s");
    assert.equal(code, 2);
    assert.match(stderr, /at least 60 seconds/);
  });

  it("exits 2 on a malformed tunnel id", async () => {
    const { code, stderr } = await sut("connect", "not-a-uuid");
    assert.equal(code, 2);
    assert.match(stderr, /must be a tunnel id/);
  });

  it("exits 2 when stop has neither an id nor --all", async () => {
    const { code } = await sut("stop");
    assert.equal(code, 2);
  });

  it("stops every tunnel with stop --all, and lists none afterwards", async () => {
    await sut("request");
    await sut("request");
    assert.equal((await sut("stop", "--all")).code, 0);
    const { stdout } = await sut("list", "--json");
    assert.deepEqual(JSON.parse(stdout), { tunnels: [] });
  });

  it("documents the exit codes in --help", async () => {
    const { code, stdout } = await sut("connect", "--help");
    assert.equal(code, 0);
    assert.match(stdout, /3 {2}approval refused/);
  });
});
