// LastRequests with a fake repository: many requests make one write of each
// device's latest, a failed write is kept for the next, and nothing is written
// when nothing is pending.
import assert from "node:assert/strict";
import { LastRequests, ROWS_PER_STATEMENT } from "./last-requests.service";

/** A fake repository; its write number `failing` (1 for the first) fails once. */
function recording(failing = 0) {
  const writes: Map<string, string>[] = [];
  let calls = 0;
  const devices = {
    writeLastRequests: async (ids: string[], ats: Date[]) => {
      if (++calls === failing) {
        throw new Error("database down");
      }
      writes.push(new Map(ids.map((id, i) => [id, ats[i]!.toISOString()])));
    },
  };
  return { writes, recorder: new LastRequests(devices) };
}

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

describe("LastRequests", () => {
  it("writes each device's latest request, in one write for many requests", async () => {
    const { writes, recorder } = recording();
    recorder.record("a", at(5));
    recorder.record("b", at(3));
    recorder.record("a", at(9));
    recorder.record("a", at(7)); // a slower request, answered later: not back in time
    await recorder.flush();
    assert.deepEqual(writes, [
      new Map([
        ["a", at(9).toISOString()],
        ["b", at(3).toISOString()],
      ]),
    ]);
    assert.equal(recorder.writes, 1);
  });

  it("writes nothing when nothing is pending", async () => {
    const { writes, recorder } = recording();
    await recorder.flush();
    assert.deepEqual(writes, []);
  });

  it("keeps a failed write's values for the next flush, under any later request", async () => {
    const { writes, recorder } = recording(1);
    recorder.record("a", at(5));
    recorder.record("b", at(5));
    await assert.rejects(recorder.flush(), /database down/);
    recorder.record("a", at(8));
    await recorder.flush();
    assert.deepEqual(writes, [
      new Map([
        ["a", at(8).toISOString()],
        ["b", at(5).toISOString()],
      ]),
    ]);
  });

  it("writes a thousand devices per statement, and keeps what a failed one left for the next flush", async () => {
    const { writes, recorder } = recording(2);
    const devices = 2 * ROWS_PER_STATEMENT + 500;
    for (let i = 0; i < devices; i++) recorder.record(`d${i}`, at(i % 60));
    await assert.rejects(recorder.flush(), /database down/);
    assert.deepEqual(
      writes.map((w) => w.size),
      [ROWS_PER_STATEMENT],
    );
    await recorder.flush();
    assert.deepEqual(
      writes.map((w) => w.size),
      [ROWS_PER_STATEMENT, ROWS_PER_STATEMENT, 500],
    );
    const written = new Map(writes.flatMap((w) => [...w]));
    assert.equal(written.size, devices);
    assert.equal(written.get(`d${devices - 1}`), at((devices - 1) % 60).toISOString());
  });
});
