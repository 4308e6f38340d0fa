import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSupport } from "./test/run-support";

describe("support (cli)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "support-cli-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (...args: string[]) =>
    runSupport({ HOME: dir, SUPPORT_ADMIN_CONFIG: join(dir, "admin.json") }, ...args);

  it("tells an engineer who is not logged in how to log in, with exit code 3", async () => {
    const r = await run("list");
    assert.equal(r.code, 3);
    assert.match(r.stderr, /not logged in: run `support login --api URL`/);
  });

  it("refuses a token or a PSK on the command line, saying how to pass it, with exit code 2", async () => {
    const token = `ste_${"t".repeat(43)}`;
    const login = await run("login", "--api", "http://127.0.0.1:9", "--token", token);
    assert.equal(login.code, 2);
    assert.match(login.stderr, /--with-token/);
    assert.doesNotMatch(login.stderr, new RegExp(token));
    await assert.rejects(stat(join(dir, "admin.json")), /ENOENT/);
    const psk = "9mW3m0d3b7v7m0o7QJ1yq6c7lq8sV2C0n1u8kq3Rk0A=";
    const create = await run("create", "0b7e3f52-9a61-4c1e-8d2f-3a4b5c6d7e8f", "--psk", psk);
    assert.equal(create.code, 2);
    assert.match(create.stderr, /pipe it in with --psk -/);
    assert.ok(!create.stderr.includes(psk));
  });

  it("refuses a malformed tunnel id before doing anything, with exit code 2", async () => {
    const r = await run("create", "not-a-uuid", "--psk", "-");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"not-a-uuid" is not a tunnel id/);
  });

  it("refuses an unknown provider and a missing command, with exit code 2", async () => {
    assert.equal(
      (await run("create", "0b7e3f52-9a61-4c1e-8d2f-3a4b5c6d7e8f", "--provider", "aws")).code,
      2,
    );
    assert.equal((await run("command", "0b7e3f52-9a61-4c1e-8d2f-3a4b5c6d7e8f")).code, 2);
  });

  it("filters lists by every state a tunnel can be in, connected included", async () => {
    const help = await run("list", "--help");
    for (const state of ["pending", "started", "running", "connected", "completed", "timedout"])
      assert.match(help.stdout, new RegExp(`"${state}"`));
    const r = await run("list", "--state", "linked");
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /Allowed choices are pending, started, running, connected, completed, timedout/,
    );
  });

  it("prints its version with --version and -V, exit 0", async () => {
    for (const flag of ["--version", "-V"]) {
      const r = await run(flag);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
    }
  });

  it("prints help for every command with exit code 0", async () => {
    for (const cmd of [
      "login",
      "whoami",
      "list",
      "show",
      "audit",
      "create",
      "connect",
      "command",
      "stop",
      "gc",
      "engineers",
    ]) {
      const r = await run(cmd, "--help");
      assert.equal(r.code, 0, cmd);
      assert.match(r.stdout, new RegExp(`Usage: support ${cmd}`));
    }
  });

  it("keeps the ProxyCommand of ssh-config out of the help, and cp's bad arguments are usage errors", async () => {
    for (const cmd of ["ssh-config", "cp"]) {
      const r = await run(cmd, "--help");
      assert.equal(r.code, 0, cmd);
      assert.match(r.stdout, new RegExp(`Usage: support ${cmd}`));
    }
    const help = await run("--help");
    assert.match(help.stdout, /ssh-config/);
    assert.doesNotMatch(help.stdout, /\bproxy\b/);
    const r = await run("cp", "3f6c0b9e-6d2a-4c1e-9a57-0c2b8f1d4e21", "./a", "./b");
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /one side must be the device/);
  });
});
