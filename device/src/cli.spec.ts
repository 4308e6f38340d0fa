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

  it("prints {tunnelId, presharedKey, expiresAt} with --json and nothing else on stdout", async () => {
    const { code, stdout, stderr } = await sut("request", "--json", "--duration", "2h");
    assert.equal(code, 0);
    const printed = JSON.parse(stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(printed).sort(), ["expiresAt", "presharedKey", "tunnelId"]);
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
});
