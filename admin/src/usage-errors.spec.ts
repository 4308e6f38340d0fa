// Every usage error of the built `support` binary: exit 2, one line on stderr
// naming the problem, nothing on stdout, and nothing changed (the config file,
// the server records). The api is nowhere (exit 6 if anything asked it), so a
// check that comes after an api call shows here as a failure.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = join(__dirname, "bin.js");
const ID = "0b8f3c1e-1111-4a2b-8c3d-000000000001";
const TOKEN = "ste_" + "a".repeat(43);

/** argv after `support`, and what the one line must say. */
const BAD_INVOCATIONS: [string[], RegExp][] = [
  [["frob"], /unknown command 'frob'/],
  [["lst"], /unknown command 'lst' \(Did you mean list\?\)/],
  [["list", "--frob"], /unknown option '--frob'/],
  [["list", "extra"], /too many arguments for 'list'/],
  [["list", "--state"], /option '--state <state>' argument missing/],
  [["list", "--state", "bogus"], /'bogus' is invalid\. Allowed choices are pending, started/],
  [["show"], /missing required argument 'id'/],
  [["show", "!!"], /"!!" is not a tunnel id/],
  [["audit", "!!"], /"!!" is not a tunnel id/],
  [["command", ID], /missing required argument 'cmd'/],
  [["connect"], /missing required argument 'id'/],
  [["group"], /missing command: add-member, remove-member, add-customer or remove-customer/],
  [["group", "frob"], /unknown command 'frob'/],
  [
    ["create", ID, "--psk", "-"],
    /no provider for the tunnel server.*support config set provider gcp/,
  ],
  [["create", ID, "--provider", "aws"], /'aws' is invalid\. Allowed choices are gcp, ssh, netns/],
  [["create", ID, "--provider", "netns", "--timeout", "soon"], /--timeout must be a whole number/],
  [["create", ID, "--provider", "netns", "--timeout", "0"], /--timeout must be a whole number/],
  [["create", ID, "--provider", "netns", "--psk", "hunter2"], /--psk VALUE puts the PSK where/],
  [["create", ID, "--provider", "ssh", "--host", "no-user"], /--host "no-user" must be user@host/],
  [["create", ID, "--provider", "netns", "--lab", "Bad_Lab"], /--lab "Bad_Lab" must be a lab name/],
  [["create", "!!", "--provider", "netns"], /"!!" is not a tunnel id/],
  [["stop", ID, "--lab", "Bad_Lab"], /--lab "Bad_Lab" must be a lab name/],
  [["stop", ID, "--reason"], /option '--reason <text>' argument missing/],
  [["gc", "--host", "root@"], /--host "root@" must be user@host/],
  [["login"], /required option '--api <url>' not specified/],
  [["login", "--api", "notaurl", "--with-token"], /--api "notaurl" must be an http or https URL/],
  [["login", "--api", "http://api.test", "--token", TOKEN], /--with-token/],
  [
    ["login", "--api", "http://api.test", "--ssh-host", "nohost", "--with-token"],
    /--ssh-host "nohost" must be user@host/,
  ],
  [["login", "--api", "http://api.test", "--lab", "Bad", "--with-token"], /--lab "Bad" must be/],
  [["group", "add-member", "team", "bob"], /required option '--role <role>' not specified/],
  [["group", "add-member", "team", "bob", "--role", "king"], /'king' is invalid/],
  [
    ["group", "add-member", "team", "bob", "--role", "member", "--expires", "soon"],
    /--expires must be a duration/,
  ],
  [["group", "add-member", "Bad!", "bob", "--role", "member"], /group: must be 2 to 32/],
  [["customers", "create", "!!"], /customer: must be 2 to 32/],
  [["devices", "--customer", "!!"], /customer: must be 2 to 32/],
  [["engineers", "add", "bob"], /required option '--role <role>' not specified/],
  [["engineers", "add", "bob", "--role", "king"], /'king' is invalid/],
  [["engineers", "revoke"], /missing required argument 'name'/],
  [["audit", "--limit", "0"], /--limit must be a whole number of entries/],
  [["audit", "--all", "--limit", "5"], /--all and --limit: choose one/],
  [["cp", ID, "a", "b"], /one side must be the device/],
  [["cp", ID, ":a", ":b"], /only one side may be the device/],
  [["ssh-config"], /missing required argument 'id'/],
  [["ssh-config", ID, "--install", "--uninstall"], /--install and --uninstall exclude each other/],
  [["forward", ID, "notaport"], /the device port must be a port number, 1 to 65535/],
  [["forward", ID, "99999"], /the device port must be a port number, 1 to 65535/],
  [["collect", ID, "-o"], /option '-o, --output <file>' argument missing/],
  [["config"], /missing command: list, get, set or unset/],
  [["config", "set", "provider"], /missing required argument 'value'/],
  [["config", "set", "provider", "aws"], /config provider cannot be "aws": it takes gcp, ssh/],
  [["config", "get", "colour"], /unknown config key "colour"/],
  [["completion"], /missing required argument 'shell'/],
  [
    ["completion", "powershell"],
    /'powershell' is invalid for argument 'shell'\. Allowed choices are bash, zsh, fish/,
  ],
];

function run(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code as number | null) : 0, stdout, stderr });
    }).stdin?.end(`${TOKEN}\n`);
  });
}

describe("support: every usage error exits 2 with one line naming it", function () {
  this.timeout(120_000);
  let dir: string;
  let config: string;
  let configText: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "support-usage-"));
    config = join(dir, "admin.json");
    configText = JSON.stringify({ apiUrl: "http://127.0.0.1:9", token: TOKEN });
    await writeFile(config, configText, { mode: 0o600 });
    env = { PATH: process.env.PATH, HOME: dir, SUPPORT_ADMIN_CONFIG: config };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // Each binary start costs most of a second on a busy machine: all run first,
  // three at a time, then each is its own test; what they left is checked last.
  const results = new Map<string, Awaited<ReturnType<typeof run>>>();
  before(async () => {
    const queue = [...BAD_INVOCATIONS];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift())
        results.set(next[0].join(" "), await run(next[0], env));
    };
    await Promise.all([worker(), worker(), worker()]);
  });

  for (const [args, problem] of BAD_INVOCATIONS) {
    it(`support ${args.join(" ")}`, () => {
      const r = results.get(args.join(" "))!;
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^error: [^\n]+\n$/, "one line");
      assert.match(r.stderr, problem);
    });
  }

  it("changed nothing: the config file is as it was, and nothing else was made", async () => {
    assert.equal(await readFile(config, "utf8"), configText);
    assert.deepEqual(await readdir(dir), ["admin.json"]);
  });
});
