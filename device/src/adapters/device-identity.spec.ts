import * as assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FileStateStore } from "./state-store";

describe("FileStateStore: the device's identity", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "st-identity-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("makes one identity, keeps it root's alone, and gives the same one to every later process", async () => {
    const id = await new FileStateStore(dir).deviceId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(await new FileStateStore(dir).deviceId(), id);
    assert.equal((await fs.stat(path.join(dir, "device-id"))).mode & 0o777, 0o600);
    assert.deepEqual(await fs.readdir(dir), ["device-id"], "nothing else left behind");
  });

  it("ends with one identity when many ask for it at once", async () => {
    const ids = await Promise.all(
      Array.from({ length: 8 }, () => new FileStateStore(dir).deviceId()),
    );
    assert.equal(new Set(ids).size, 1);
    assert.deepEqual(await fs.readdir(dir), ["device-id"]);
  });

  it("refuses a state file that is not an identity, saying which file", async () => {
    await fs.writeFile(path.join(dir, "device-id"), "not-a-uuid\n");
    await assert.rejects(
      new FileStateStore(dir).deviceId(),
      /device-id does not hold a device identity/,
    );
  });
});
