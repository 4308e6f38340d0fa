import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingCommands, requirePrerequisite } from "@support-tunnel/testkit";
import { resolveIdentity } from "./identity";
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
});
