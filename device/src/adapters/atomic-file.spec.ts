import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic } from "./atomic-file";

describe("writeFileAtomic", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "atomic-file-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("replaces the file whole, with the mode asked whatever the umask, leaving no temp file", async () => {
    const file = path.join(dir, "record.json");
    fs.writeFileSync(file, "old", { mode: 0o644 });
    const umask = process.umask(0o077);
    try {
      await writeFileAtomic(file, "new\n", { mode: 0o440 });
    } finally {
      process.umask(umask);
    }
    assert.equal(fs.readFileSync(file, "utf8"), "new\n");
    assert.equal(fs.statSync(file).mode & 0o777, 0o440);
    assert.deepEqual(fs.readdirSync(dir), ["record.json"]);
  });

  it("leaves the old file and no temp file when the rename fails", async () => {
    const target = path.join(dir, "target");
    fs.mkdirSync(path.join(target, "inside"), { recursive: true }); // a non-empty directory: rename fails
    await assert.rejects(writeFileAtomic(target, "x", { mode: 0o600 }));
    assert.deepEqual(fs.readdirSync(dir), ["target"]);
  });
});
