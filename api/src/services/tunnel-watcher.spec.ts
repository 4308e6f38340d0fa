import assert from "node:assert/strict";
import type { TunnelRepository } from "../repositories/tunnel.repository";
import { TunnelWatcher } from "./tunnel-watcher.service";

/** A tunnel table of one row, in memory. */
function fakeTunnels(initial: number) {
  const row = { state: initial };
  const repo = { stateOf: async () => row.state } as unknown as TunnelRepository;
  return { row, repo };
}

describe("TunnelWatcher", () => {
  const id = "7f1c2c3e-1111-4222-8333-444455556666";

  it("wakes a waiter as soon as this replica reports a change", async () => {
    const { row, repo } = fakeTunnels(10);
    const sut = new TunnelWatcher(repo);
    const waiting = sut.waitForChange(id, 10, Date.now() + 30_000, new AbortController().signal);
    row.state = 20;
    sut.changed(id);
    await waiting;
    assert.equal(sut.waiting, 0);
  });

  it("notices a change made elsewhere on its periodic re-read", async () => {
    const { row, repo } = fakeTunnels(10);
    const sut = new TunnelWatcher(repo);
    const waiting = sut.waitForChange(id, 10, Date.now() + 30_000, new AbortController().signal);
    row.state = 60; // e.g. another replica's sweep: no event here
    await waiting;
  });

  it("keeps waiting through changes to other tunnels and gives up at the deadline", async () => {
    const { repo } = fakeTunnels(10);
    const sut = new TunnelWatcher(repo);
    const waiting = sut.waitForChange(id, 10, Date.now() + 300, new AbortController().signal);
    sut.changed("another");
    await waiting;
    assert.equal(sut.waiting, 0);
  });

  it("stops waiting when the client goes away or the server shuts down", async () => {
    const { repo } = fakeTunnels(10);
    const sut = new TunnelWatcher(repo);
    const client = new AbortController();
    const first = sut.waitForChange(id, 10, Date.now() + 30_000, client.signal);
    const second = sut.waitForChange(id, 10, Date.now() + 30_000, new AbortController().signal);
    assert.equal(sut.waiting, 2);
    client.abort();
    await first;
    assert.equal(sut.waiting, 1);
    sut.beforeApplicationShutdown();
    await second;
    assert.equal(sut.waiting, 0);
  });
});
