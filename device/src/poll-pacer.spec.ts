import * as assert from "node:assert/strict";
import { PollPacer } from "./poll-pacer";

describe("PollPacer", () => {
  const options = { minIntervalMs: 1000, burst: 3, backoffMs: 1000, maxBackoffMs: 30_000 };

  it("lets a first look and the polls right after it go at once, then one a second", () => {
    const sut = new PollPacer({ ...options, random: () => 0 });
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) {
      assert.equal(sut.nextPollAt(t), t, `poll ${i + 1} at once`);
      sut.started(t);
    }
    assert.equal(sut.nextPollAt(t), t + 1000);
    sut.started(t + 1000);
    assert.equal(sut.nextPollAt(t + 1000), t + 2000);
    // After a long-poll held for 25 s the burst is back.
    assert.equal(sut.nextPollAt(t + 27_000), t + 27_000);
  });

  it("doubles its pause with each failure in a row, never below half of it nor above the cap", () => {
    for (const random of [() => 0, () => 0.999]) {
      const sut = new PollPacer({ ...options, random });
      const pauses: number[] = [];
      let now = 0;
      for (let i = 0; i < 8; i++) {
        now += 100_000;
        sut.started(now);
        sut.struck(now);
        pauses.push(sut.nextPollAt(now) - now);
      }
      const full = [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000];
      pauses.forEach((p, i) => {
        assert.ok(p >= full[i]! / 2 && p <= full[i]!, `pause ${i + 1}: ${p} ms of ${full[i]}`);
      });
    }
  });

  it("forgets the failures once an answer is worth having", () => {
    const sut = new PollPacer({ ...options, random: () => 0.5 });
    for (let i = 0; i < 5; i++) sut.struck(0);
    assert.ok(sut.nextPollAt(0) >= 8000);
    sut.answered();
    assert.equal(sut.nextPollAt(0), 0);
  });
});
