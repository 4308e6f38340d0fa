import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileStateStore } from "./state-store";

/** Another support-device process: takes the lock and holds it until killed. */
async function holdLockInAnotherProcess(
  dir: string,
  id: string,
  lockStaleMs = 2000,
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const { FileStateStore } = require(${JSON.stringify(path.join(__dirname, "state-store.js"))});
       new FileStateStore(process.argv[1], { lockStaleMs: Number(process.argv[3]) })
         .lock(process.argv[2])
         .then(() => process.stdout.write("locked\\n"));
       setInterval(() => {}, 1000);`,
      dir,
      id,
      String(lockStaleMs),
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

  it("takes over at once a lock whose holder was SIGKILLed, without waiting for it to go stale", async () => {
    holder = await holdLockInAnotherProcess(dir, id, 60_000);
    await killed(holder);
    // Stale only after a minute, but the caller gives up after five seconds: only proof that the holder is gone lets it in.
    const sut = new FileStateStore(dir, {
      lockPollMs: 50,
      lockStaleMs: 60_000,
      lockTimeoutMs: 5000,
    });
    const release = await sut.lock(id);
    await release();
  });

  it("takes over at once a lock whose pid now names a process started at another time", async () => {
    holder = spawn("sleep", ["60"], { stdio: "ignore" });
    await new Promise((resolve) => holder!.on("spawn", resolve));
    const lockDir = path.join(dir, "locks", id);
    fs.mkdirSync(lockDir, { recursive: true });
    const stat = fs.statSync(lockDir, { bigint: true });
    const started = Number(
      fs.readFileSync(`/proc/${holder.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19],
    );
    fs.writeFileSync(
      `${lockDir}.pid`,
      JSON.stringify({
        pid: holder.pid,
        // The holder that died had this pid, but started earlier than the process that has it now.
        startTime: String(started - 1),
        bootId: fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(),
        pidNamespace: fs.readlinkSync("/proc/self/ns/pid"),
        lock: `${stat.ino}:${stat.birthtimeNs}`,
      }),
    );
    const sut = new FileStateStore(dir, {
      lockPollMs: 5,
      lockStaleMs: 60_000,
      lockTimeoutMs: 1000,
    });
    const release = await sut.lock(id);
    await release();
  });

  it("does not take a dead holder's name for the holder of a newer lock at the same path", async () => {
    // The dead holder named the lock it held; the lock there now was made since, by someone not yet named.
    const lockDir = path.join(dir, "locks", id);
    fs.mkdirSync(lockDir, { recursive: true });
    fs.writeFileSync(
      `${lockDir}.pid`,
      JSON.stringify({
        pid: 2 ** 22 + 1, // above pid_max: no process has it
        startTime: "1",
        bootId: fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(),
        pidNamespace: fs.readlinkSync("/proc/self/ns/pid"),
        lock: "1:1",
      }),
    );
    const sut = new FileStateStore(dir, { lockPollMs: 5, lockStaleMs: 60_000, lockTimeoutMs: 500 });
    await assert.rejects(sut.lock(id), /busy/);
    assert.ok(fs.existsSync(lockDir), "the newer lock is left alone");
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
