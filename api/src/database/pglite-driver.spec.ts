import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DATA_DIR_LOCK_STALE_MS, DataDirLockedError, acquireDataDirLock } from "./pglite-driver";

describe("the embedded data directory lock", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "st-api-lock-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const lockPath = () => join(dir, "support-api.lock");

  it("refuses a second owner while the first holds it, and frees it on release", () => {
    const release = acquireDataDirLock(dir);
    assert.throws(() => acquireDataDirLock(dir), DataDirLockedError);
    release();
    assert.equal(existsSync(lockPath()), false);
    acquireDataDirLock(dir)();
  });

  /** Another process taking the lock through this same module, holding it until killed. */
  async function otherOwner() {
    const owner = spawn(
      process.execPath,
      [
        "-e",
        `require(${JSON.stringify(__filename.replace(/\.spec\.js$/, ".js"))}).acquireDataDirLock(${JSON.stringify(dir)});
         console.log("locked"); setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await once(owner.stdout, "data");
    return owner;
  }

  it("refuses while another live process owns it", async () => {
    const owner = await otherOwner();
    try {
      assert.throws(() => acquireDataDirLock(dir), /in use by another support-api process/);
    } finally {
      owner.kill();
      await once(owner, "exit");
    }
  });

  it("takes over at once a lock whose owner on this machine was killed", async () => {
    const owner = await otherOwner();
    owner.kill("SIGKILL"); // no clean-up: its lock stays, freshly refreshed
    await once(owner, "exit");
    assert.equal(existsSync(lockPath()), true);
    acquireDataDirLock(dir)();
  });

  it("takes over a lock left by a process that died, once nobody has refreshed it for a while", () => {
    mkdirSync(lockPath());
    const longAgo = new Date(Date.now() - DATA_DIR_LOCK_STALE_MS - 5_000);
    utimesSync(lockPath(), longAgo, longAgo);
    acquireDataDirLock(dir)();
  });
});
