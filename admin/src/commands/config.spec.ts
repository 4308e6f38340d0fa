import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../cli";

const TOKEN = "ste_" + "a".repeat(43);

describe("support config", () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "support-config-"));
    path = join(dir, "admin.json");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
    let stdout = "";
    let stderr = "";
    const code = await main(["node", "support", ...args], {
      stdout: { write: (s: string) => ((stdout += s), true) } as never,
      stderr: { write: (s: string) => ((stderr += s), true) } as never,
      env: { HOME: dir, SUPPORT_ADMIN_CONFIG: path, ...env },
    });
    return { code, stdout, stderr };
  }

  /** A logged-in engineer whose api is nowhere: any request to it fails with exit 6. */
  async function loggedIn(extra: Record<string, unknown> = {}) {
    await writeFile(
      path,
      JSON.stringify({ apiUrl: "http://127.0.0.1:9", token: TOKEN, ...extra }),
      { mode: 0o600 },
    );
  }

  it("sets, gets, lists and unsets keys, keeping the rest of the file and its 0600", async () => {
    await loggedIn({ netns: { lab: "lab1" } });
    assert.equal((await run(["config", "set", "provider", "gcp"])).code, 0);
    assert.equal((await run(["config", "set", "gcp.zone", "europe-west1-b"])).code, 0);
    assert.equal(
      (await run(["config", "set", "gcp.sshSourceRanges", "203.0.113.0/24,198.51.100.7/32"])).code,
      0,
    );

    const got = await run(["config", "get", "provider"]);
    assert.deepEqual([got.code, got.stdout], [0, "gcp\n"]);
    const file = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    assert.equal(file.token, TOKEN, "the token stays");
    assert.deepEqual(file.gcp, {
      zone: "europe-west1-b",
      sshSourceRanges: ["203.0.113.0/24", "198.51.100.7/32"],
    });
    assert.equal((await stat(path)).mode & 0o777, 0o600);

    const listed = await run(["config", "list", "--json"]);
    assert.deepEqual(JSON.parse(listed.stdout), {
      api: "http://127.0.0.1:9",
      provider: "gcp",
      "netns.lab": "lab1",
      "gcp.zone": "europe-west1-b",
      "gcp.sshSourceRanges": ["203.0.113.0/24", "198.51.100.7/32"],
    });
    const plain = await run(["config", "get"]);
    assert.match(plain.stdout, /^provider gcp$/m);
    assert.match(plain.stdout, /^gcp\.sshSourceRanges 203\.0\.113\.0\/24,198\.51\.100\.7\/32$/m);
    assert.doesNotMatch(plain.stdout, /ste_/, "the token is never printed");

    assert.equal((await run(["config", "unset", "gcp.zone"])).code, 0);
    assert.equal((await run(["config", "unset", "gcp.sshSourceRanges"])).code, 0);
    const after = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    assert.equal(after.gcp, undefined, "an emptied section goes");
    const unset = await run(["config", "get", "gcp.zone"]);
    assert.equal(unset.code, 1);
    assert.equal(unset.stdout, "");
    assert.match(unset.stderr, /gcp\.zone is not set/);
  });

  it("works before login: the provider can be set first", async () => {
    assert.equal((await run(["config", "set", "provider", "ssh"])).code, 0);
    assert.deepEqual(JSON.parse(await readFile(path, "utf8")), { provider: "ssh" });
    const list = await run(["list"]);
    assert.equal(list.code, 3);
    assert.match(list.stderr, /not logged in/);
  });

  for (const [args, named] of [
    [["provider", "aws"], /config provider cannot be "aws": it takes gcp, ssh or netns/],
    [["api", "ftp://x"], /config api cannot be "ftp:\/\/x": it takes an http or https URL/],
    [["gcp.wgPort", "70000"], /config gcp\.wgPort cannot be "70000": it takes a UDP port/],
    [["gcp.osLogin", "yes"], /config gcp\.osLogin cannot be "yes": it takes true or false/],
    [["gcp.sshSourceRanges", "10.0.0.0/8,nope"], /config gcp\.sshSourceRanges cannot be/],
    [["ssh.host", "no-user-here"], /config ssh\.host cannot be .*user@host/],
    [["netns.lab", "Bad_Lab"], /config netns\.lab cannot be .*lab name/],
    [["colour", "blue"], /unknown config key "colour": the keys are api, provider, identity/],
    [["token", TOKEN], /unknown config key "token".*stored by `support login`/],
  ] as const) {
    it(`refuses \`config set ${args[0]} …\` with exit 2, naming the key and what it takes, leaving the file as it was`, async () => {
      await loggedIn({ provider: "netns" });
      const before = await readFile(path, "utf8");
      const r = await run(["config", "set", ...args]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, named);
      assert.equal(r.stdout, "");
      assert.equal(await readFile(path, "utf8"), before);
    });
  }

  it("an unknown key in get or unset is a usage error too", async () => {
    assert.equal((await run(["config", "get", "nope"])).code, 2);
    assert.equal((await run(["config", "unset", "nope"])).code, 2);
    await assert.rejects(stat(path), /ENOENT/, "no file made");
  });

  describe("the provider of create", () => {
    const ID = "0b8f3c1e-1111-4a2b-8c3d-000000000001";

    it("has no built-in default: without one, create refuses with exit 2 before asking the api, saying how to set it", async () => {
      await loggedIn();
      const r = await run(["create", ID, "--psk", "-"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /no provider.*--provider gcp\|ssh\|netns.*support config set provider gcp/,
      );
      assert.doesNotMatch(r.stderr, /unreachable/);
    });

    it("takes --provider over SUPPORT_PROVIDER over the config file", async () => {
      // Each choice shows in what fails first: the api being nowhere (exit 6) means
      // the provider was accepted; a bad one is refused before (exit 2).
      await loggedIn({ provider: "gcp" });
      assert.equal((await run(["create", ID, "--psk", "-"])).code, 6);
      const badEnv = await run(["create", ID, "--psk", "-"], { SUPPORT_PROVIDER: "aws" });
      assert.equal(badEnv.code, 2);
      assert.match(
        badEnv.stderr,
        /SUPPORT_PROVIDER="aws" is not a provider: use gcp, ssh or netns/,
      );
      const flagWins = await run(["create", ID, "--psk", "-", "--provider", "ssh"], {
        SUPPORT_PROVIDER: "aws",
      });
      assert.equal(flagWins.code, 6, flagWins.stderr);
    });
  });
});
