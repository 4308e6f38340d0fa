import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as lockfile from "proper-lockfile";
import { takeDirLock } from "./dir-lock";

describe("takeDirLock", () => {
  let dir: string;
  let lockDir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "dir-lock-"));
    lockDir = path.join(dir, "lock");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const never = (err: Error) => assert.fail(`compromised: ${err.message}`);

  it("lets one holder in at a time, and the next in after the release", async () => {
    const release = await takeDirLock(lockDir, { staleMs: 10_000, onCompromised: never });
    await assert.rejects(takeDirLock(lockDir, { staleMs: 10_000, onCompromised: never }), {
      code: "ELOCKED",
    });
    await release();
    assert.equal(fs.existsSync(lockDir), false);
    const again = await takeDirLock(lockDir, { staleMs: 10_000, onCompromised: never });
    await again();
  });

  it("takes over a lock not refreshed for the stale time, and not a fresh one", async () => {
    fs.mkdirSync(lockDir);
    await assert.rejects(takeDirLock(lockDir, { staleMs: 60_000, onCompromised: never }), {
      code: "ELOCKED",
    });
    const longAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(lockDir, longAgo, longAgo);
    const release = await takeDirLock(lockDir, { staleMs: 60_000, onCompromised: never });
    assert.ok(fs.statSync(lockDir).mtimeMs > longAgo.getTime(), "a lock of its own, fresh");
    await release();
  });

  it("keeps a held lock fresh past the stale time", async () => {
    const release = await takeDirLock(lockDir, { staleMs: 2000, onCompromised: never });
    const made = fs.statSync(lockDir).mtimeMs;
    // Refreshed every second: by the time the first refresh is seen it is not stale.
    while (fs.statSync(lockDir).mtimeMs === made) await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(takeDirLock(lockDir, { staleMs: 2000, onCompromised: never }), {
      code: "ELOCKED",
    });
    await release();
  });

  it("reports a lock removed under its holder, and its release then leaves the new holder's alone", async () => {
    const lost = new Promise<Error>((resolve) => {
      void takeDirLock(lockDir, { staleMs: 2000, onCompromised: resolve }).then((release) => {
        fs.rmdirSync(lockDir);
        fs.mkdirSync(lockDir); // another process's lock now
        void lost.then(() => release());
      });
    });
    assert.match((await lost).message, /changed by another process|removed/);
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(fs.existsSync(lockDir), "the other process's lock stays");
  });

  it("excludes, and is excluded by, a holder that locks through proper-lockfile", async () => {
    const theirs = await lockfile.lock(lockDir, { lockfilePath: lockDir, realpath: false });
    await assert.rejects(takeDirLock(lockDir, { staleMs: 10_000, onCompromised: never }), {
      code: "ELOCKED",
    });
    await theirs();
    const ours = await takeDirLock(lockDir, { staleMs: 10_000, onCompromised: never });
    await assert.rejects(
      lockfile.lock(lockDir, { lockfilePath: lockDir, realpath: false, retries: 0 }),
      { code: "ELOCKED" },
    );
    await ours();
  });
});
