import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileStateStore } from "./state-store";

/** Another support-device process: takes the lock and holds it until killed. */
async function holdLockInAnotherProcess(dir: string, id: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const { FileStateStore } = require(${JSON.stringify(path.join(__dirname, "state-store.js"))});
       new FileStateStore(process.argv[1], { lockStaleMs: 2000 })
         .lock(process.argv[2])
         .then(() => process.stdout.write("locked\\n"));
       setInterval(() => {}, 1000);`,
      dir,
      id,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      if (d.toString().includes("locked")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
  return child;
}

async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

describe("FileStateStore.lock", () => {
  let dir: string;
  let holder: ChildProcess | undefined;
  const id = "0b5e2c4a-1111-4222-8333-444455556666";

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "device-store-"));
  });
  afterEach(async () => {
    if (holder) await killed(holder);
    holder = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

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
    holder = await holdLockInAnotherProcess(dir, id);
    await killed(holder);
    const sut = new FileStateStore(dir, {
      lockPollMs: 50,
      lockStaleMs: 2000,
      lockTimeoutMs: 15_000,
    });
    const release = await sut.lock(id);
    await release();
  });

  it("takes over a stale lock even when its pid now belongs to a live process", async () => {
    // A crash long ago; since then the system gave the holder's pid to another process (here: init).
    fs.mkdirSync(path.join(dir, "locks", id), { recursive: true });
    fs.writeFileSync(path.join(dir, "locks", `${id}.pid`), "1\n");
    const longAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(path.join(dir, "locks", id), longAgo, longAgo);
    const sut = new FileStateStore(dir, { lockPollMs: 5, lockTimeoutMs: 1000 });
    const release = await sut.lock(id);
    await release();
  });

  it("respects a lock held by a live process past the stale time, and gives up saying which", async () => {
    holder = await holdLockInAnotherProcess(dir, id);
    // It refreshes every second; only three seconds without would make it stale.
    const sut = new FileStateStore(dir, { lockPollMs: 50, lockStaleMs: 3000, lockTimeoutMs: 4500 });
    await assert.rejects(sut.lock(id), new RegExp(`busy \\(locked by pid ${holder.pid}\\)`));
  });

  it("refuses a tunnel id that is not a UUID as a file name", async () => {
    const sut = new FileStateStore(dir);
    await assert.rejects(sut.read("../../etc/passwd"), /tunnel id/);
  });
});
