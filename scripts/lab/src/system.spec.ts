// The lab's cross-process lock and process identity, on a temp dir.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isProcessAlive, processStartTime, sleep, withLock, writeFileAtomic } from "./system";

describe("lab lock and process identity", () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stlab-lock-"));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("lets one holder in at a time", async () => {
    const lock = path.join(dir, ".lock");
    const events: string[] = [];
    const holder = (name: string) =>
      withLock(lock, async () => {
        events.push(`${name} in`);
        await sleep(30);
        events.push(`${name} out`);
      });
    await Promise.all([holder("a"), holder("b"), holder("c")]);
    for (let i = 0; i < events.length; i += 2) {
      assert.equal(events[i]!.split(" ")[0], events[i + 1]!.split(" ")[0], events.join(", "));
    }
    assert.equal(fs.existsSync(lock), false);
  });

  it("breaks a lock left behind by a process that died", async () => {
    const dead = spawnSync("true").pid;
    const lock = path.join(dir, ".lock");
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, "owner"), `${dead} 1`);
    const sut = await withLock(lock, async () => "got it", 2000);
    assert.equal(sut, "got it");
  });

  it("waits for a live holder instead of breaking its lock", async () => {
    const lock = path.join(dir, ".lock");
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, "owner"), `${process.pid} ${processStartTime(process.pid)}`);
    await assert.rejects(
      withLock(lock, async () => "stolen", 300),
      /timed out waiting for lock/,
    );
  });

  it("does not take a reused pid for the process it recorded", () => {
    const start = processStartTime(process.pid);
    assert.equal(isProcessAlive(process.pid, start), true);
    assert.equal(isProcessAlive(process.pid, (start ?? 0) + 1), false);
    assert.equal(isProcessAlive(spawnSync("true").pid), false);
  });

  it("replaces a file whole, never leaving a temp file", () => {
    const file = path.join(dir, "lab.json");
    writeFileAtomic(file, "one");
    writeFileAtomic(file, "two");
    assert.equal(fs.readFileSync(file, "utf8"), "two");
    assert.deepEqual(fs.readdirSync(dir), ["lab.json"]);
  });
});
