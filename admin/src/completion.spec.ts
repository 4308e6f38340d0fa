import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingCommands, requirePrerequisite } from "@support-tunnel/testkit";
import { runSupport } from "./test/run-support";

describe("support completion", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "support-completion-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (...args: string[]) => runSupport({ HOME: dir }, ...args);

  /** The script, saved where a shell can load it. */
  async function script(shell: string): Promise<string> {
    const r = await run("completion", shell);
    assert.equal(r.code, 0, r.stderr);
    const path = join(dir, `support.${shell}`);
    await writeFile(path, r.stdout);
    return path;
  }

  /** What bash offers after typing `words` (the last one partial), as a user's TAB would. */
  function bashCompletes(path: string, words: string[], env: NodeJS.ProcessEnv = {}): string[] {
    const driver = `source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
complete -p support >/dev/null || exit 9
_support
printf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = execFileSync("bash", ["--norc", "-c", driver, "bash", path, "support", ...words], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: dir, ...env },
    });
    return out.split("\n").filter(Boolean).sort();
  }

  it("bash: completes commands, subcommands, flags and their choices in a real bash", async () => {
    const path = await script("bash");
    assert.deepEqual(bashCompletes(path, ["li"]), ["list"]);
    assert.deepEqual(bashCompletes(path, ["co"]), [
      "collect",
      "command",
      "completion",
      "config",
      "connect",
    ]);
    assert.deepEqual(bashCompletes(path, ["group", "add-"]), ["add-customer", "add-member"]);
    assert.deepEqual(bashCompletes(path, ["list", "--st"]), ["--state"]);
    assert.deepEqual(bashCompletes(path, ["create", "--provider", ""]), ["gcp", "netns", "ssh"]);
    assert.deepEqual(bashCompletes(path, ["list", "--state", "r"]), ["running"]);
    assert.deepEqual(bashCompletes(path, ["config", "set", "pro"]), ["provider"]);
    assert.deepEqual(bashCompletes(path, ["completion", ""]), ["bash", "fish", "zsh"]);
    // After `--` come the remote command's words: nothing of ours.
    assert.deepEqual(bashCompletes(path, ["command", "abcd", "--", "l"]), []);
  });

  it("bash: completes tunnel ids from this machine's server records, never asking the api", async () => {
    const path = await script("bash");
    const config = join(dir, "cfg", "admin.json");
    await mkdir(join(dir, "cfg", "servers"), { recursive: true });
    const ids = ["0b8f3c1e-1111-4a2b-8c3d-000000000001", "0b8f3c1e-2222-4a2b-8c3d-000000000002"];
    for (const id of ids) await writeFile(join(dir, "cfg", "servers", `${id}.json`), "{}");
    // The api url points nowhere: completing must not need it.
    const env = { SUPPORT_ADMIN_CONFIG: config, SUPPORT_API_URL: "http://127.0.0.1:9" };
    assert.deepEqual(bashCompletes(path, ["stop", "0b8f"], env), ids);
    assert.deepEqual(bashCompletes(path, ["connect", "0b8f3c1e-2"], env), [ids[1]]);
    // Once the id is there, nothing more is offered in its place.
    assert.deepEqual(bashCompletes(path, ["show", ids[0]!, "0b"], env), []);
  });

  it("zsh and fish: the script is produced and the shell itself loads it", async function () {
    this.timeout(60_000);
    requirePrerequisite(this, missingCommands("zsh", "fish"));
    const zsh = await script("zsh");
    const registered = execFileSync(
      "zsh",
      [
        "-fc",
        `autoload -U compinit && compinit -u -d "$2"; source "$1"; print -r -- "$_comps[support]"`,
        "zsh",
        zsh,
        join(dir, "zcompdump"),
      ],
      { encoding: "utf8", env: { PATH: process.env.PATH, HOME: dir } },
    );
    assert.equal(registered.trim(), "_bash_complete -F _support");

    const fish = await script("fish");
    const offered = execFileSync(
      "fish",
      ["--no-config", "-c", `source $argv[1]; complete -C "support group add-"`, fish],
      { encoding: "utf8", env: { PATH: process.env.PATH, HOME: dir } },
    );
    assert.deepEqual(
      offered
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\t")[0])
        .sort(),
      ["add-customer", "add-member"],
    );
  });

  it("refuses a shell it does not know with exit 2, printing no script", async () => {
    const r = await run("completion", "powershell");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /powershell/);
    assert.equal(r.stdout, "");
  });
});
