import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TunnelId } from "@support-tunnel/common";
import { FileServerRecordStore, type ServerRecord } from "./server-records";

const ID = "0b7e3f52-9a61-4c1e-8d2f-3a4b5c6d7e8f" as TunnelId;

function record(instanceId: string): ServerRecord {
  return {
    tunnelId: ID,
    createdAt: "2026-01-01T00:00:00.000Z",
    knownHostsPath: `/cfg/servers/${ID}.known_hosts`,
    server: {
      instanceId,
      provider: "ssh",
      publicIp: "203.0.113.7",
      wgPort: 51821,
      interfaceName: "sts0b7e3f529a61",
      ssh: { host: "203.0.113.7", port: 22, username: "root", privateKeyPath: "/k" },
    },
  };
}

describe("FileServerRecordStore", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "support-records-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps each record 0600 in a 0700 directory, replaced whole, with no temp file left", async () => {
    const sut = new FileServerRecordStore(dir);
    await sut.save(record("root@203.0.113.7:22:sts0b7e3f529a61"));
    await sut.save(record("root@203.0.113.8:22:sts0b7e3f529a61"));
    assert.equal((await stat(join(dir, "servers"))).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, "servers", `${ID}.json`))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(dir, "servers")), [`${ID}.json`]);
    assert.deepEqual(await sut.load(ID), record("root@203.0.113.8:22:sts0b7e3f529a61"));
    assert.deepEqual(await sut.all(), [record("root@203.0.113.8:22:sts0b7e3f529a61")]);
  });

  it("forgets a record and its pinned host key together", async () => {
    const sut = new FileServerRecordStore(dir);
    await sut.save(record("root@203.0.113.7:22:sts0b7e3f529a61"));
    await writeFile(sut.knownHostsPath(ID), "203.0.113.7 ssh-ed25519 AAAA\n");
    await sut.remove(ID);
    assert.equal(await sut.load(ID), null);
    assert.deepEqual(await readdir(join(dir, "servers")), []);
  });

  it("reads a record written before devices were recorded, so stop and gc still work", async () => {
    const sut = new FileServerRecordStore(dir);
    await mkdir(join(dir, "servers"), { mode: 0o700 });
    // Exactly what an older `support create` wrote: no device section.
    await writeFile(
      join(dir, "servers", `${ID}.json`),
      JSON.stringify(record("root@203.0.113.7:22:sts0b7e3f529a61")),
      { mode: 0o600 },
    );
    const loaded = await sut.load(ID);
    assert.equal(loaded?.server.instanceId, "root@203.0.113.7:22:sts0b7e3f529a61");
    assert.equal(loaded?.device, undefined);
  });

  it("keeps the device as create recorded it, and refuses an address outside its network", async () => {
    const sut = new FileServerRecordStore(dir);
    const withDevice: ServerRecord = {
      ...record("root@203.0.113.7:22:sts0b7e3f529a61"),
      device: {
        network: "10.20.30.0/30",
        address: "10.20.30.1",
        supportUser: "support1a2b",
        hostKeyAlias: `device.${ID}.support-tunnel`,
      },
    };
    await sut.save(withDevice);
    assert.deepEqual(await sut.load(ID), withDevice);
    await sut.save({ ...withDevice, device: { ...withDevice.device!, address: "10.20.40.1" } });
    await assert.rejects(sut.load(ID), /address must be the first host of network/);
  });
});
