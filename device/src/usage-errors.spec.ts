// Every usage error of the built `support-device` binary: exit 2, one line on
// stderr naming the problem, nothing on stdout, and nothing made in the state or
// log directory. The api is nowhere (exit 6 if anything asked it).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingRoot, requirePrerequisite } from "@support-tunnel/testkit";

const BIN = join(__dirname, "bin.js");
const ID = "0b8f3c1e-1111-4a2b-8c3d-000000000001";

/** argv after `support-device`, and what the one line must say. */
const BAD_INVOCATIONS: [string[], RegExp][] = [
  [["frob"], /unknown command 'frob'/],
  [["--frob", "list"], /unknown option '--frob'/],
  [["list", "--frob"], /unknown option '--frob'/],
  [["list", "extra"], /too many arguments for 'list'/],
  [["status"], /missing required argument 'id'/],
  [["status", "!!"], /'!!' is invalid for argument 'id'\. must be a tunnel id/],
  [["connect", "zz"], /'zz' is invalid for argument 'id'/],
  [["log", "zz"], /'zz' is invalid for argument 'id'/],
  [["sessions", "zz"], /'zz' is invalid for argument 'id'/],
  [["stop"], /give a tunnel id or --all/],
  [["stop", ID, "--all"], /give a tunnel id or --all \(not both\)/],
  [["stop", ID, "--reason"], /option '--reason <text>' argument missing/],
  [["request", "--description"], /option '--description <text>' argument missing/],
  [["request", "--duration", "5x"], /'5x' is invalid\. not a duration/],
  [["request", "--duration", "0m"], /'0m' is invalid\. must be at least 60 seconds/],
  [["request", "--ttl", "abc"], /'abc' is invalid/],
  [["request", "--start", "bogus"], /--start bogus: give a time like/],
  [["request", "--allow-port", "22"], /'22' is invalid\. must not be 22/],
  [["request", "--allow-port", "http"], /'http' is invalid\. must be a port number/],
  [["request", "--ticket", "-x"], /option '--ticket <ref>' argument missing|'-x' is invalid/],
  [["request", "--ticket", "a b"], /'a b' is invalid\. must be 1 to 64 letters/],
  [["request", "--engineer", "!!"], /'!!' is invalid\. must be 2 to 32 lowercase/],
  [["request", "--engineer", "bob", "--engineer", "bob"], /bob is named twice/],
  [["replay"], /missing required argument 'session'/],
  [["replay", "zz"], /'zz' is invalid for argument 'session'/],
  [["replay", "abcd", "--speed", "0"], /'0' is invalid\. must be a number above 0/],
  [["replay", "abcd", "--max-wait", "x"], /'x' is invalid\. must be a number above 0/],
  [["ui", "--listen", "nope"], /'nope' is invalid\. not a listen address/],
  [["agent", "--listen", "127.0.0.1:99999"], /'127\.0\.0\.1:99999' is invalid/],
  [["--api", "notaurl", "list"], /api url must be an http\(s\) URL: notaurl/],
];

function run(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code as number | null) : 0, stdout, stderr });
    }).stdin?.end();
  });
}

describe("support-device: every usage error exits 2 with one line naming it", function () {
  this.timeout(120_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const results = new Map<string, Awaited<ReturnType<typeof run>>>();

  // As root, as the customer runs it: as another user every command stops at
  // "run as root" first.
  before(async function () {
    requirePrerequisite(this, missingRoot());
    dir = await mkdtemp(join(tmpdir(), "support-device-usage-"));
    await mkdir(join(dir, "state"));
    await mkdir(join(dir, "log"));
    env = {
      PATH: process.env.PATH,
      HOME: dir,
      SUPPORT_STATE_DIR: join(dir, "state"),
      SUPPORT_LOG_DIR: join(dir, "log"),
      SUPPORT_API_URL: "http://127.0.0.1:9",
    };
    // Each binary start costs most of a second on a busy machine: all run first,
    // three at a time, then each is its own test; what they left is checked last.
    const queue = [...BAD_INVOCATIONS];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift())
        results.set(next[0].join(" "), await run(next[0], env));
    };
    await Promise.all([worker(), worker(), worker()]);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [args, problem] of BAD_INVOCATIONS) {
    it(`support-device ${args.join(" ")}`, () => {
      const r = results.get(args.join(" "))!;
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^support-device: [^\n]+\n$/, "one line");
      assert.match(r.stderr, problem);
    });
  }

  it("changed nothing: the state and log directories are still empty", async () => {
    assert.deepEqual(await readdir(join(dir, "state")), []);
    assert.deepEqual(await readdir(join(dir, "log")), []);
  });
});
