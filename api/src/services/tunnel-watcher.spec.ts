import assert from "node:assert/strict";
import { TunnelWatcher } from "./tunnel-watcher.service";

/** A tunnel table of one row, in memory, counting how often the watcher reads it. */
function fakeTunnels(initial: number) {
  const row = { state: initial, reads: 0 };
  const repo = {
    stateOf: async () => {
      row.reads++;
      return row.state;
    },
  };
  return { row, repo };
}

/** Lets every pending callback and promise of the moment run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Long enough that a periodic re-read can never be what ends a wait in these tests. */
const NEVER = { rereadMs: 3_600_000 };

describe("TunnelWatcher", () => {
  const id = "7f1c2c3e-1111-4222-8333-444455556666";

  it("wakes a waiter as soon as this replica reports a change", async () => {
    const { row, repo } = fakeTunnels(10);
    const sut = new TunnelWatcher(repo, NEVER);
    const waiting = sut.waitForChange(id, 10, Date.now() + 3_600_000, new AbortController().signal);
    row.state = 20;
    sut.changed(id);
    await waiting;
    assert.equal(row.reads, 1);
    assert.equal(sut.waiting, 0);
  });

  it("notices a change made elsewhere on its periodic re-read", async () => {
    const { row, repo } = fakeTunnels(10);
    const sut = new TunnelWatcher(repo, { rereadMs: 10 });
    const waiting = sut.waitForChange(id, 10, Date.now() + 3_600_000, new AbortController().signal);
    row.state = 60; // e.g. another replica's sweep: no event here
    await waiting;
    assert.equal(sut.waiting, 0);
  });

  it("keeps waiting through changes to other tunnels", async () => {
    const { repo, row } = fakeTunnels(10);
    const sut = new TunnelWatcher(repo, NEVER);
    const abort = new AbortController();
    const waiting = sut.waitForChange(id, 10, Date.now() + 3_600_000, abort.signal);
    sut.changed("another");
    await settle();
    assert.deepEqual([row.reads, sut.waiting], [0, 1]);
    abort.abort();
    await waiting;
  });

  it("gives up at the deadline and not before, however often it re-reads", async () => {
    const { repo, row } = fakeTunnels(10);
    const sut = new TunnelWatcher(repo, { rereadMs: 20 });
    const deadline = Date.now() + 300;
    await sut.waitForChange(id, 10, deadline, new AbortController().signal);
    assert.ok(Date.now() >= deadline, `returned ${deadline - Date.now()} ms before its deadline`);
    assert.ok(row.reads >= 1);
    assert.equal(sut.waiting, 0);
  });

  it("stops waiting when the client goes away or the server shuts down", async () => {
    const { repo } = fakeTunnels(10);
    const sut = new TunnelWatcher(repo, NEVER);
    const client = new AbortController();
    const first = sut.waitForChange(id, 10, Date.now() + 3_600_000, client.signal);
    const second = sut.waitForChange(id, 10, Date.now() + 3_600_000, new AbortController().signal);
    assert.equal(sut.waiting, 2);
    client.abort();
    await first;
    assert.equal(sut.waiting, 1);
    sut.beforeApplicationShutdown();
    await second;
    assert.equal(sut.waiting, 0);
  });
});
