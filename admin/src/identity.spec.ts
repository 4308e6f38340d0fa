import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { access, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingCommands, requirePrerequisite } from "@support-tunnel/testkit";
import { resolveIdentity, resolveIdentityAhead } from "./identity";
import type { ResolvedConfig } from "./config";

describe("resolveIdentity", () => {
  let dir: string;
  before(function () {
    requirePrerequisite(this, missingCommands("ssh-keygen"));
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "support-identity-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const config = (): ResolvedConfig => ({
    path: join(dir, "admin.json"),
    dir,
    file: null,
    home: dir,
  });

  it("generates one key into the config dir when the engineer has none, even for CLIs racing", async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => resolveIdentity(config())));
    assert.equal(new Set(results.map((r) => r.publicKey)).size, 1);
    assert.equal(results[0]!.privateKeyPath, join(dir, "id_ed25519"));
    assert.match(results[0]!.publicKey, /^ssh-ed25519 /);
    assert.equal((await stat(join(dir, "id_ed25519"))).mode & 0o777, 0o600);
  });

  it("uses the key given with --identity, generating it there when absent", async () => {
    const home = await resolveIdentity(
      { ...config(), dir: join(dir, "cfg"), home: dir },
      join(dir, "explicit"),
    );
    assert.equal(home.privateKeyPath, join(dir, "explicit"));
  });

  it("ahead of the role check, generates no key until asked, then the same as resolveIdentity", async () => {
    const resolve = resolveIdentityAhead(config());
    // Let the look-ahead finish: it finds no key and must leave it so.
    await new Promise((done) => setTimeout(done, 200));
    await assert.rejects(access(join(dir, "id_ed25519")), { code: "ENOENT" });
    const ahead = await resolve();
    assert.deepEqual(ahead, await resolveIdentity(config()));
  });

  it("ahead of the role check, holds a key it cannot read until asked, then says why", async () => {
    const path = join(dir, "locked");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret", "-f", path]);
    const resolve = resolveIdentityAhead(config(), path);
    await new Promise((done) => setTimeout(done, 200)); // an unhandled rejection would fail the run here
    await assert.rejects(resolve(), /cannot read the SSH identity .*passphrase is not supported/);
  });
});
