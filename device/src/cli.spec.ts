import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { main } from "./main";
import { stampEvent, type NewJournalEvent } from "./session-record/journal";
import { iologDirOf } from "./session-record/layout";
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

  it("prints the tunnel id and the preshared key as codes to read over the phone", async () => {
    const { code, stdout } = await sut("request");
    assert.equal(code, 0);
    const symbol = "[0-9A-HJKMNP-TV-Z]";
    assert.match(
      stdout,
      new RegExp(
        `^tunnel id: (${symbol}{4}-){6}${symbol}{3}\npreshared key: (${symbol}{4}-){13}${symbol}\n`,
      ),
    );
    assert.match(stdout, /^expires at: \S+Z \(in 1 h\)$/m);
    const [, id] = /^tunnel id: (\S+)$/m.exec(stdout)!;
    const status = await sut("status", id!.toLowerCase());
    assert.equal(status.code, 0);
    assert.match(status.stdout, new RegExp(`^tunnel: ${id} \\([0-9a-f-]{36}\\)$`, "m"));
  });

  it("refuses a tunnel code with a misheard symbol, saying so, with exit 2", async () => {
    const { stdout } = await sut("request", "--json");
    const { tunnelCode: code } = JSON.parse(stdout) as { tunnelCode: string };
    const misheard = (code.startsWith("Z") ? "Y" : "Z") + code.slice(1);
    const status = await sut("status", misheard);
    assert.equal(status.code, 2);
    assert.match(status.stderr, /check symbol does not match/);
  });

  it("prints {tunnelId, presharedKey, expiresAt} and the choices with --json and nothing else on stdout", async () => {
    const { code, stdout, stderr } = await sut("request", "--json", "--duration", "2h");
    assert.equal(code, 0);
    const printed = JSON.parse(stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(printed).sort(), [
      "allowedEngineers",
      "allowedPorts",
      "expiresAt",
      "notBefore",
      "presharedKey",
      "presharedKeyCode",
      "ticket",
      "tunnelCode",
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
    assert.match(status.stdout, new RegExp(`^opens at: ${printed.notBefore} \\(in 2 h\\)$`, "m"));
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

  it("prints its version with --version, exit 0", async () => {
    const { code, stdout } = await sut("--version");
    assert.equal(code, 0);
    assert.match(stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it("tells a user who is not root to run it as root, exit 2, and does nothing", async () => {
    let stderr = "";
    const code = await main(["--state-dir", h.stateDir, "--api", "http://api.test", "request"], {
      env: {},
      streams: { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) } },
      deps: (settings, log) => ({ ...h.deps, settings: { ...settings, hooks: {} }, log }),
      signal: new AbortController().signal,
      isRoot: () => false,
    });
    assert.equal(code, 2);
    assert.match(stderr, /must run as root.*run it with sudo/);
    assert.equal(h.api.tunnels.size, 0);
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

  it("exits 2 when the consent page would listen beyond loopback without a password", async () => {
    const { code, stderr } = await sut("ui", "--listen", "0.0.0.0:0");
    assert.equal(code, 2);
    assert.match(stderr, /without a password: set ui.passwordHash in the config file/);
  });

  it("exits 2 on a listen address that is not one, and on agent --listen without --ui", async () => {
    const bad = await sut("ui", "--listen", "printer.local:80");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /must be an IP address or localhost/);
    assert.equal((await sut("agent", "--listen", "127.0.0.1:0")).code, 2);
  });

  it("documents the exit codes in --help", async () => {
    const { code, stdout } = await sut("connect", "--help");
    assert.equal(code, 0);
    assert.match(stdout, /3 {2}approval refused/);
  });
  describe("the session record", () => {
    /** A connected tunnel on which support ran `id`, recorded as the session program and sudo do. */
    async function supportRanId() {
      const { stdout } = await sut("request", "--json", "--description", "printer is stuck");
      const { tunnelId } = JSON.parse(stdout) as { tunnelId: string };
      h.api.approve(tunnelId, (await h.store.read(tunnelId))!.presharedKey);
      assert.equal((await sut("connect", tunnelId)).code, 0);
      const { supportUser } = (await h.store.read(tunnelId))!;
      const session = "0123456789ab";
      const at = h.clock.now();
      const append = (e: NewJournalEvent, ms: number) => h.journal.append(stampEvent(e, at + ms));
      await append(
        {
          type: "session-opened",
          tunnelId,
          session,
          supportUser,
          command: "sudo -n -- id",
          pty: false,
          from: "10.99.0.2",
        },
        1000,
      );
      const dir = path.join(iologDirOf(h.logDir, tunnelId), "00", "00", "01");
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(
        path.join(dir, "log.json"),
        JSON.stringify({ timestamp: { seconds: at / 1000 }, columns: 80, lines: 24 }),
      );
      fs.writeFileSync(path.join(dir, "stdout"), "uid=0(root)\n");
      fs.writeFileSync(path.join(dir, "timing"), "1 0.25 12\n");
      await append(
        {
          type: "session-closed",
          tunnelId,
          session,
          exitCode: 0,
          signal: null,
          durationMs: 400,
          iolog: "00/00/01",
        },
        1400,
      );
      h.clock.time += 2000;
      assert.equal((await sut("stop", tunnelId)).code, 0);
      return { tunnelId, session, supportUser };
    }

    it("log tells the customer what support did, after the tunnel is gone", async () => {
      const { tunnelId, supportUser } = await supportRanId();
      const { code, stdout } = await sut("log", tunnelId);
      assert.equal(code, 0);
      const lines = stdout.trimEnd().split("\n");
      assert.equal(lines[0], `tunnel ${tunnelId}`);
      assert.match(lines[1]!, /requested by the customer: "printer is stuck"/);
      assert.match(lines[2]!, /approved by alice, until/);
      assert.match(lines[3]!, new RegExp(`connected: support may log in as ${supportUser}`));
      assert.match(
        lines[4]!,
        new RegExp(`${supportUser} ran: id \\(exit 0, 0.4 s\\)  \\[0123456789ab\\]`),
      );
      assert.match(lines[5]!, /stopped by the customer/);
    });

    it("sessions --json lists each session with its command, exit and times", async () => {
      const { tunnelId, session, supportUser } = await supportRanId();
      const { code, stdout } = await sut("sessions", "--json");
      assert.equal(code, 0);
      const { sessions } = JSON.parse(stdout) as { sessions: Record<string, unknown>[] };
      assert.equal(sessions.length, 1);
      assert.deepEqual(
        {
          session: sessions[0]!.session,
          tunnelId: sessions[0]!.tunnelId,
          supportUser: sessions[0]!.supportUser,
          kind: sessions[0]!.kind,
          displayCommand: sessions[0]!.displayCommand,
          exitCode: sessions[0]!.exitCode,
          durationMs: sessions[0]!.durationMs,
        },
        {
          session,
          tunnelId,
          supportUser,
          kind: "command",
          displayCommand: "id",
          exitCode: 0,
          durationMs: 400,
        },
      );
    });

    it("replay plays the session's output, and --cast exports it for asciinema", async () => {
      await supportRanId();
      let done = false;
      const playing = sut("replay", "0123", "--speed", "2").finally(() => (done = true));
      // The pause before the output is the fake clock's: time moves when the test says.
      await h.clock.runUntil(() => done, "the replay to end");
      const played = await playing;
      assert.equal(played.code, 0, played.stderr);
      assert.equal(played.stdout, "uid=0(root)\n");
      const cast = await sut("replay", "0123456789ab", "--cast");
      const [header, event] = cast.stdout
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as unknown);
      assert.deepEqual((header as { version: number; width: number }).version, 2);
      assert.deepEqual(event, [0.25, "o", "uid=0(root)\r\n"]);
    });

    it("exits 5 for a tunnel or a session this device has no record of", async () => {
      assert.equal((await sut("log", "00000000-0000-4000-8000-000000000000")).code, 5);
      assert.equal((await sut("replay", "abcdef")).code, 5);
      assert.equal((await sut("replay", "xyz")).code, 2);
    });
  });
});
