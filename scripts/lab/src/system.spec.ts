// The lab's cross-process lock, process identity and state file, on a temp dir.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isProcessAlive, processStartTime, sleep, withLock } from "./system";

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
    assert.equal(events.length, 6);
    for (let i = 0; i < events.length; i += 2) {
      assert.equal(events[i]!.split(" ")[0], events[i + 1]!.split(" ")[0], events.join(", "));
    }
    assert.equal(fs.existsSync(lock), false);
  });

  it("takes over a lock its holder stopped keeping fresh (a process that died)", async () => {
    const lock = path.join(dir, ".lock");
    fs.mkdirSync(lock);
    const longAgo = new Date(Date.now() - 10 * 60_000);
    fs.utimesSync(lock, longAgo, longAgo);
    const sut = await withLock(lock, async () => "got it", 2000);
    assert.equal(sut, "got it");
    assert.equal(fs.existsSync(lock), false);
  });

  it("waits for a live holder instead of breaking its lock", async () => {
    const lock = path.join(dir, ".lock");
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const holder = withLock(lock, async () => {
      entered();
      await holding;
      return "holder done";
    });
    await inside;
    await assert.rejects(
      withLock(lock, async () => "stolen", 300),
      /timed out waiting for lock/,
    );
    release();
    assert.equal(await holder, "holder done");
  });

  it("does not take a reused pid for the process it recorded", () => {
    const start = processStartTime(process.pid);
    assert.equal(isProcessAlive(process.pid, start), true);
    assert.equal(isProcessAlive(process.pid, (start ?? 0) + 1), false);
    assert.equal(isProcessAlive(spawnSync("true").pid), false);
  });
});
