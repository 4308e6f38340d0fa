import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataDirLockedError, acquireDataDirLock } from "./pglite-driver";

describe("the embedded data directory lock", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "st-api-lock-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const lockFile = () => join(dir, "support-api.lock");

  it("refuses a second owner while the first holds it, and frees it on release", () => {
    const release = acquireDataDirLock(dir);
    assert.throws(() => acquireDataDirLock(dir), DataDirLockedError);
    release();
    assert.equal(existsSync(lockFile()), false);
    acquireDataDirLock(dir)();
  });

  it("refuses while another live process owns it, naming its pid", () => {
    writeFileSync(lockFile(), String(process.ppid));
    assert.throws(
      () => acquireDataDirLock(dir),
      /in use by another support-api process \(pid \d+\)/,
    );
  });

  it("takes over a lock left by a process that is gone, or by an earlier life with our pid", () => {
    writeFileSync(lockFile(), "2147483646");
    acquireDataDirLock(dir)();
    writeFileSync(lockFile(), String(process.pid));
    acquireDataDirLock(dir)();
  });
});
