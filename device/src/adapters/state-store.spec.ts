import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileStateStore } from "./state-store";

describe("FileStateStore.lock", () => {
  let dir: string;
  const id = "0b5e2c4a-1111-4222-8333-444455556666";

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "device-store-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("makes a second holder wait until the first releases", async () => {
    const sut = new FileStateStore(dir, { lockPollMs: 5 });
    const order: string[] = [];
    const release = await sut.lock(id);
    const second = sut.lock(id).then(async (r) => {
      order.push("second");
      await r();
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    order.push("first releases");
    await release();
    await second;
    assert.deepEqual(order, ["first releases", "second"]);
  });

  it("takes over a lock left by a process that died", async () => {
    const sut = new FileStateStore(dir, { lockPollMs: 5, lockTimeoutMs: 1000 });
    const dead = spawnSync(process.execPath, [
      "-e",
      "process.stdout.write(String(process.pid))",
    ]).stdout.toString();
    fs.mkdirSync(path.join(dir, "locks"), { recursive: true });
    fs.writeFileSync(path.join(dir, "locks", `${id}.lock`), `${dead}\n`);
    const release = await sut.lock(id);
    await release();
  });

  it("gives up on a lock held by a live process, saying which", async () => {
    const sut = new FileStateStore(dir, { lockPollMs: 5, lockTimeoutMs: 50 });
    fs.mkdirSync(path.join(dir, "locks"), { recursive: true });
    fs.writeFileSync(path.join(dir, "locks", `${id}.lock`), "1\n");
    await assert.rejects(sut.lock(id), /busy \(locked by pid 1\)/);
  });

  it("refuses a tunnel id that is not a UUID as a file name", async () => {
    const sut = new FileStateStore(dir);
    await assert.rejects(sut.read("../../etc/passwd"), /tunnel id/);
  });
});
