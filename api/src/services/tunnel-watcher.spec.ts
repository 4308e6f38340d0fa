import assert from "node:assert/strict";
import type { TunnelChangeHandlers } from "../database/tunnel-change-feed";
import { TunnelEntity } from "../entities/tunnel.entity";
import { TunnelWatcher } from "./tunnel-watcher.service";

/** A tunnel table in memory, counting the watcher's queries. */
function fakeTunnels(initial: Record<string, number>) {
  const rows = new Map(Object.entries(initial));
  const queries: string[][] = [];
  const repo = {
    statesLeft: async (waits: readonly { id: string; rank: number }[]) => {
      queries.push(waits.map((w) => w.id));
      return waits.flatMap((w) => {
        const rank = rows.get(w.id) ?? null;
        return rank === w.rank ? [] : [{ id: w.id, rank }];
      });
    },
  };
  return { rows, queries, repo };
}

/** Lets every pending callback and promise of the moment run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Long enough that no periodic re-read runs within these tests. */
const NEVER = { rereadMs: 3_600_000 };
const HOUR = 3_600_000;

/** Whether `promise` has settled by now. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await settle();
  return done;
}

describe("TunnelWatcher", () => {
  const id = "7f1c2c3e-1111-4222-8333-444455556666";
  const other = "7f1c2c3e-1111-4222-8333-444455556667";
  const forever = () => new AbortController().signal;

  it("wakes a waiter when its tunnel's change is announced, without reading anything", async () => {
    const { queries, repo } = fakeTunnels({ [id]: 10 });
    const sut = new TunnelWatcher(repo, null, NEVER);
    const waiting = sut.waitForChange(id, 10, Date.now() + HOUR, forever());
    sut.changed({ tunnelId: id, rank: 20 });
    await waiting;
    assert.deepEqual(queries, []);
    assert.equal(sut.waiting, 0);
  });

  it("answers waiters with a tunnel this replica committed, and others with nothing to reuse", async () => {
    const { queries, repo } = fakeTunnels({ [id]: 10, [other]: 10 });
    const sut = new TunnelWatcher(repo, null, NEVER);
    const mine = sut.waitForChange(id, 10, Date.now() + HOUR, forever());
    const elsewhere = sut.waitForChange(other, 10, Date.now() + HOUR, forever());
    const tunnel = Object.assign(new TunnelEntity(), { id, state: 30 });
    assert.equal(await sut.commit(id, async () => tunnel), tunnel);
    sut.changed({ tunnelId: other, rank: 30 }); // another replica's, through the feed
    assert.equal(await mine, tunnel);
    assert.equal(await elsewhere, null);
    assert.deepEqual(queries, []);
  });

  it("holds its own change's notification, heard before the statement's answer, until the waiters have the tunnel", async () => {
    const { queries, repo } = fakeTunnels({ [id]: 10, [other]: 10 });
    const sut = new TunnelWatcher(repo, null, NEVER);
    const mine = sut.waitForChange(id, 10, Date.now() + HOUR, forever());
    const elsewhere = sut.waitForChange(other, 10, Date.now() + HOUR, forever());
    const tunnel = Object.assign(new TunnelEntity(), { id, state: 30 });
    let answer!: (t: TunnelEntity) => void;
    const committing = sut.commit(id, () => new Promise((resolve) => (answer = resolve)));
    sut.changed({ tunnelId: id, rank: 30 }); // the commit's own notification, first
    sut.changed({ tunnelId: other, rank: 30 }); // another tunnel's is not held
    assert.equal(await elsewhere, null);
    assert.equal(await settled(mine), false, "woken before its tunnel was known");
    answer(tunnel);
    assert.equal(await committing, tunnel);
    assert.equal(await mine, tunnel);
    assert.deepEqual(queries, []);
    // Heard after the change: a wait that came later, on the old state, does not wait.
    assert.equal(await sut.waitForChange(id, 10, Date.now() + HOUR, forever()), null);
  });

  it("lets the notifications held during a change that failed or changed nothing wake their waiters", async () => {
    const { repo } = fakeTunnels({ [id]: 10, [other]: 10 });
    const sut = new TunnelWatcher(repo, null, NEVER);
    const failed = sut.waitForChange(id, 10, Date.now() + HOUR, forever());
    const nothing = sut.waitForChange(other, 10, Date.now() + HOUR, forever());
    await assert.rejects(
      sut.commit(id, async () => {
        sut.changed({ tunnelId: id, rank: 30 }); // another replica's change, meanwhile
        throw new Error("the statement failed");
      }),
      /the statement failed/,
    );
    assert.equal(
      await sut.commit(other, async () => {
        sut.changed({ tunnelId: other, rank: 30 });
        return null;
      }),
      null,
    );
    assert.equal(await failed, null);
    assert.equal(await nothing, null);
    assert.equal(sut.waiting, 0);
  });

  it("wakes each waiter at its own deadline: a short wait is not held for a long one", async () => {
    const { repo } = fakeTunnels({ [id]: 10, [other]: 10 });
    const sut = new TunnelWatcher(repo, null, NEVER);
    const abort = new AbortController();
    const long = sut.waitForChange(other, 10, Date.now() + HOUR, abort.signal);
    const deadline = Date.now() + 150;
    await sut.waitForChange(id, 10, deadline, forever());
    assert.ok(Date.now() >= deadline, `returned ${deadline - Date.now()} ms before its deadline`);
    assert.equal(await settled(long), false);
    assert.equal(sut.waiting, 1);
    abort.abort();
    await long;
    assert.equal(sut.waiting, 0);
  });

  it("keeps waiting through other tunnels' changes and announcements of the state it already has", async () => {
    const { repo } = fakeTunnels({ [id]: 20 });
    const sut = new TunnelWatcher(repo, null, NEVER);
    const abort = new AbortController();
    const waiting = sut.waitForChange(id, 20, Date.now() + HOUR, abort.signal);
    sut.changed({ tunnelId: other, rank: 30 });
    sut.changed({ tunnelId: id, rank: 20 });
    assert.equal(await settled(waiting), false);
    assert.equal(sut.waiting, 1);
    abort.abort();
    await waiting;
    assert.equal(sut.waiting, 0);
  });

  it("does not wait at all for a change announced between the caller's read and its wait", async () => {
    const { repo } = fakeTunnels({ [id]: 10 });
    const sut = new TunnelWatcher(repo, null, NEVER);
    sut.changed({ tunnelId: id, rank: 20 }); // no one waits yet
    await sut.waitForChange(id, 10, Date.now() + HOUR, forever());
    assert.equal(sut.waiting, 0);
  });

  it("re-reads every waited tunnel in one query, however many wait, and wakes only those that changed", async () => {
    const { rows, queries, repo } = fakeTunnels({ [id]: 10, [other]: 10 });
    const sut = new TunnelWatcher(repo, null, NEVER);
    const clients = Array.from({ length: 100 }, () => new AbortController());
    const onId = clients
      .slice(0, 50)
      .map((c) => sut.waitForChange(id, 10, Date.now() + HOUR, c.signal));
    const onOther = clients
      .slice(50)
      .map((c) => sut.waitForChange(other, 10, Date.now() + HOUR, c.signal));
    rows.set(id, 60); // e.g. a change whose notification was lost
    await sut.rereadNow();
    assert.deepEqual(queries, [[id, other]]);
    await Promise.all(onId);
    assert.equal(await settled(Promise.race(onOther)), false);
    assert.equal(sut.waiting, 50);
    for (const c of clients) c.abort();
    await Promise.all(onOther);
  });

  it("reads nothing when no one waits", async () => {
    const { queries, repo } = fakeTunnels({ [id]: 10 });
    const sut = new TunnelWatcher(repo, null, NEVER);
    await sut.rereadNow();
    assert.deepEqual(queries, []);
  });

  it("gives up at the deadline and not before", async () => {
    const { repo } = fakeTunnels({ [id]: 10 });
    const sut = new TunnelWatcher(repo, null, NEVER);
    const deadline = Date.now() + 200;
    await sut.waitForChange(id, 10, deadline, forever());
    assert.ok(Date.now() >= deadline, `returned ${deadline - Date.now()} ms before its deadline`);
    assert.equal(sut.waiting, 0);
  });

  it("stops waiting when the client goes away or the server shuts down, and then waits no more", async () => {
    const { repo } = fakeTunnels({ [id]: 10 });
    const sut = new TunnelWatcher(repo, null, NEVER);
    const client = new AbortController();
    const first = sut.waitForChange(id, 10, Date.now() + HOUR, client.signal);
    const second = sut.waitForChange(id, 10, Date.now() + HOUR, forever());
    assert.equal(sut.waiting, 2);
    client.abort();
    await first;
    assert.equal(sut.waiting, 1);
    sut.close();
    await second;
    assert.equal(sut.waiting, 0);
    await sut.waitForChange(id, 10, Date.now() + HOUR, forever());
  });

  it("starts and stops its feed, resyncing when the feed asks", async () => {
    const { rows, queries, repo } = fakeTunnels({ [id]: 10 });
    let handlers: TunnelChangeHandlers | null = null;
    let closed = false;
    const feed = {
      start: async (h: TunnelChangeHandlers) => {
        handlers = h;
      },
      close: async () => {
        closed = true;
      },
    };
    const sut = new TunnelWatcher(repo, feed, NEVER);
    await sut.onApplicationBootstrap();
    const waiting = sut.waitForChange(id, 10, Date.now() + HOUR, forever());
    rows.set(id, 20);
    handlers!.resync(); // e.g. the listening connection came back after a cut
    await waiting;
    assert.equal(queries.length, 1);
    sut.beforeApplicationShutdown();
    await sut.onApplicationShutdown();
    assert.equal(closed, true);
  });
});
