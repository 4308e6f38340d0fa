import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stampEvent } from "../session-record/journal";
import { iologDirOf, journalFileOf } from "../session-record/layout";
import { approvedEvent } from "../test/journal-events";
import { FileJournal } from "./journal-store";

const old = "11111111-1111-4111-8111-111111111111";
const live = "22222222-2222-4222-8222-222222222222";
const recent = "33333333-3333-4333-8333-333333333333";

describe("FileJournal", () => {
  let logDir: string;
  let sut: FileJournal;
  beforeEach(() => {
    logDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "journal-spec-")), "log");
    sut = new FileJournal(logDir);
  });
  afterEach(() => fs.rmSync(path.dirname(logDir), { recursive: true, force: true }));

  const daysAgo = (days: number) => Date.now() - days * 24 * 3600_000;
  const stopped = (tunnelId: string, at = Date.now()) =>
    stampEvent({ type: "stopped", tunnelId, by: "customer", reason: null }, at);

  it("keeps the record root-only: 0700 directories, a 0600 journal, appended to", async () => {
    await sut.append(stopped(old));
    await sut.append(stopped(old));
    for (const dir of [logDir, path.join(logDir, "journal"), path.join(logDir, "sessions")])
      assert.equal(fs.statSync(dir).mode & 0o777, 0o700, dir);
    assert.equal(fs.statSync(journalFileOf(logDir, old)).mode & 0o777, 0o600);
    assert.equal((await sut.read(old))!.events.length, 2);
    assert.equal(await sut.read(live), null);
  });

  it("names the engineer of the latest approval, as its events do, skipping lines that are not one", async () => {
    const approved = (engineer: string | null, at: number, tunnelId = live) =>
      approvedEvent(tunnelId, engineer, at);
    const base = Date.parse("2030-01-01T10:00:00Z");
    assert.equal(await sut.approvedEngineer(live), null, "no journal");
    await sut.append(stopped(live, base));
    assert.equal(await sut.approvedEngineer(live), null, "no approval");
    // Written out of time order (appends from several writers interleave): the latest counts.
    await sut.append(approved("bob", base + 2000));
    await sut.append(approved("alice", base + 1000));
    const file = journalFileOf(logDir, live);
    fs.appendFileSync(
      file,
      [
        '{"v":1,"type":"approved","engineer":"torn',
        JSON.stringify({ ...approved("mallory", base + 9000), v: 99 }),
        JSON.stringify({ ...approved("mallory", base + 9000), at: "not a time" }),
        JSON.stringify({ ...approved("mallory", base + 9000), engineer: 7 }),
        "",
      ].join("\n"),
    );
    const fromEvents = (await sut.read(live))!.events.filter((e) => e.type === "approved").pop();
    assert.equal(fromEvents?.type === "approved" && fromEvents.engineer, "bob");
    assert.equal(await sut.approvedEngineer(live), "bob");
    fs.appendFileSync(file, JSON.stringify(approved("mallory", base + 9000, recent)) + "\n");
    assert.equal(await sut.approvedEngineer(live), "bob", "another tunnel's approval");
    await sut.append(approved(null, base + 3000));
    assert.equal(await sut.approvedEngineer(live), null, "the latest approval names no one");
  });

  it("prunes records past the retention, but never one of a tunnel still on the device", async () => {
    for (const [id, days] of [
      [old, 100],
      [live, 100],
      [recent, 10],
    ] as const) {
      await sut.append(stopped(id, daysAgo(days)));
      fs.mkdirSync(path.join(iologDirOf(logDir, id), "00", "00", "01"), { recursive: true });
    }

    const removed = await sut.prune(daysAgo(90), new Set([live]));

    assert.deepEqual(removed, [old]);
    assert.deepEqual((await sut.tunnels()).sort(), [live, recent]);
    assert.ok(!fs.existsSync(iologDirOf(logDir, old)));
    assert.ok(fs.existsSync(iologDirOf(logDir, live)));
  });

  it("finds a session's I/O log by the marker in its recorded command when its end was not recorded", async () => {
    const root = iologDirOf(logDir, old);
    for (const [seq, session] of [
      ["01", "aaaaaaaaaaaa"],
      ["02", "bbbbbbbbbbbb"],
    ] as const) {
      fs.mkdirSync(path.join(root, "00", "00", seq), { recursive: true });
      fs.writeFileSync(
        path.join(root, "00", "00", seq, "log.json"),
        JSON.stringify({
          runargv: ["/usr/bin/env", `SUPPORT_SESSION=${session}`, "/bin/bash", "-l"],
        }),
      );
    }
    assert.equal(await sut.iologDir(old, "aaaaaaaaaaaa", null), path.join(root, "00", "00", "01"));
    assert.equal(
      await sut.iologDir(old, "bbbbbbbbbbbb", "00/00/02"),
      path.join(root, "00", "00", "02"),
    );
    assert.equal(await sut.iologDir(old, "cccccccccccc", null), null);
  });
});
