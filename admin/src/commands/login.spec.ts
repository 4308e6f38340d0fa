import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Printer } from "@support-tunnel/common";
import { readEnvironment } from "../config";
import type { Context } from "../context";
import { CliError, ExitCode } from "../errors";
import { login, type LoginOptions } from "./login";

const TOKEN = `ste_${"k".repeat(43)}`;

describe("login", () => {
  let dir: string;
  let checked: string[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "support-login-"));
    checked = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function options(extra: Partial<LoginOptions>, stdinIsTty = false): LoginOptions {
    const path = join(dir, "admin.json");
    const ctx: Context = {
      printer: new Printer({
        stdout: { write: () => true },
        stderr: { write: () => true },
        json: false,
        tty: false,
      }),
      env: { ...readEnvironment({ HOME: dir }), stdinIsTty },
      config: { path, dir, file: null, home: dir },
      api: () => {
        throw new Error("not used");
      },
      records: () => {
        throw new Error("not used");
      },
    };
    return {
      api: "https://support.example.com",
      ctx,
      makeClient: (_url, token) => ({
        whoami: async () => {
          checked.push(token);
          return { name: "alice", role: "operator" };
        },
      }),
      ...extra,
    };
  }

  async function usageError(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
    } catch (err) {
      assert.ok(err instanceof CliError, String(err));
      assert.equal(err.exitCode, ExitCode.Usage);
      return err.message;
    }
    assert.fail("expected a usage error");
  }

  it("refuses a token on the command line, says how to pass it, and sends or stores nothing", async () => {
    const message = await usageError(login(options({ token: TOKEN })));
    assert.match(message, /--token puts your token where `ps` and shell history see it/);
    assert.match(message, /--with-token/);
    assert.ok(!message.includes(TOKEN), "the message does not repeat the token");
    assert.deepEqual(checked, []);
    await assert.rejects(stat(join(dir, "admin.json")), /ENOENT/);
  });

  it("reads the token from stdin with --with-token, checks it and stores it 0600", async () => {
    await login(options({ withToken: true, readStdin: async () => `${TOKEN}\n` }));
    assert.deepEqual(checked, [TOKEN]);
    const stored = JSON.parse(await readFile(join(dir, "admin.json"), "utf8")) as {
      token: string;
    };
    assert.equal(stored.token, TOKEN);
    assert.equal((await stat(join(dir, "admin.json"))).mode & 0o777, 0o600);
  });

  it("asks for the token without echo on a terminal", async () => {
    const asked: string[] = [];
    await login(
      options(
        {
          prompt: async (message) => {
            asked.push(message);
            return TOKEN;
          },
        },
        true,
      ),
    );
    assert.deepEqual(asked, ["engineer token (ste_...)"]);
    assert.deepEqual(checked, [TOKEN]);
  });

  it("refuses to guess without a terminal or --with-token", async () => {
    assert.match(await usageError(login(options({}))), /no token: pass --with-token/);
  });

  it("refuses something that is not an engineer token before sending it", async () => {
    const message = await usageError(
      login(options({ withToken: true, readStdin: async () => "hunter2\n" })),
    );
    assert.match(message, /must be an engineer token/);
    assert.ok(!message.includes("hunter2"));
    assert.deepEqual(checked, []);
  });
});
