// Waiting on conditions and bounded fan-out, as the integration tests use them.
import { strict as assert } from "node:assert";
import { mapLimit } from "./concurrency";
import { eventually, sleep, waitFor } from "./wait";

describe("waitFor and eventually", () => {
  it("waitFor resolves once the condition holds", async () => {
    let calls = 0;
    await waitFor(() => ++calls >= 3, "the third call", 5000, 1);
    assert.equal(calls, 3);
  });

  it("waitFor fails naming what never happened", async () => {
    await assert.rejects(
      waitFor(() => false, "the moon to turn blue", 20, 1),
      /timed out waiting for the moon to turn blue/,
    );
  });

  it("eventually returns the first result that does not throw", async () => {
    let calls = 0;
    const sut = await eventually(
      () => {
        if (++calls < 3) throw new Error(`not yet ${calls}`);
        return `done after ${calls}`;
      },
      5000,
      1,
    );
    assert.equal(sut, "done after 3");
  });

  it("eventually gives up with the last failure, so the test shows why", async () => {
    let calls = 0;
    await assert.rejects(
      eventually(
        () => {
          throw new Error(`still wrong (${++calls})`);
        },
        20,
        1,
      ),
      (error: Error) => /^still wrong \(\d+\)$/.test(error.message) && calls > 1,
    );
  });
});

describe("mapLimit", () => {
  it("keeps input order and never has more than `limit` calls in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const sut = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
      most = Math.max(most, ++inFlight);
      await sleep(n);
      inFlight--;
      return n * 10;
    });
    assert.deepEqual(sut, [50, 10, 40, 20, 30, 0]);
    assert.equal(most, 2);
  });

  it("returns nothing for nothing", async () => {
    assert.deepEqual(await mapLimit([], 4, async () => 1), []);
  });
});
