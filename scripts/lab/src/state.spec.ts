// lab.json as concurrent processes see it, in a temp directory.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LabStateFile, type LabState } from "./state";

function labState(name: string): LabState {
  return {
    version: 1,
    name,
    id: "0a1b",
    ownerPid: process.pid,
    ownerStartTime: null,
    createdAt: new Date(0).toISOString(),
    internet: {
      cidr: "100.64.7.0/24",
      rootAddress: "100.64.7.1",
      rootInterface: "stlab0a1b",
      netns: `stlab-${name}-inet`,
    },
    nextIndex: 1,
    hosts: {},
  };
}

describe("lab state file", () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stlab-state-"));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("replaces lab.json whole, never leaving a temp file", () => {
    const sut = new LabStateFile(dir);
    sut.write(labState("one"));
    sut.write(labState("two"));
    assert.equal(sut.read()?.name, "two");
    assert.deepEqual(fs.readdirSync(dir), ["lab.json"]);
    assert.equal(fs.statSync(sut.path).mode & 0o777, 0o600);
  });

  it("applies concurrent changes one at a time, losing none", async () => {
    const sut = new LabStateFile(dir);
    sut.write(labState("busy"));
    const indexes = await Promise.all(
      Array.from({ length: 8 }, () => sut.update((s) => s.nextIndex++)),
    );
    assert.deepEqual(
      indexes.map((i) => i.result).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.equal(sut.read()?.nextIndex, 9);
  });

  it("refuses to change a lab whose lab.json is gone", async () => {
    const sut = new LabStateFile(dir);
    await assert.rejects(
      sut.update(() => undefined),
      /is gone/,
    );
  });
});
