import assert from "node:assert/strict";
import { RateLimiter } from "./rate-limiter";

describe("RateLimiter", () => {
  it("allows a burst up to the per-minute limit, then refuses", () => {
    const now = 0;
    const sut = new RateLimiter(3, () => now);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => sut.take("198.51.100.1")),
      [true, true, true, false],
    );
  });

  it("refills over time", () => {
    let now = 0;
    const sut = new RateLimiter(60, () => now);
    for (let i = 0; i < 60; i++) sut.take("a");
    assert.equal(sut.take("a"), false);
    now += 1000;
    assert.equal(sut.take("a"), true);
    assert.equal(sut.take("a"), false);
  });

  it("keeps addresses apart", () => {
    const sut = new RateLimiter(1, () => 0);
    assert.equal(sut.take("a"), true);
    assert.equal(sut.take("b"), true);
    assert.equal(sut.take("a"), false);
  });

  it("forgets the least recently seen addresses beyond its bound", () => {
    const sut = new RateLimiter(1, () => 0, 2);
    sut.take("a");
    sut.take("b");
    sut.take("c");
    // "a" was forgotten, so it starts with a full bucket again
    assert.equal(sut.take("a"), true);
    assert.equal(sut.take("c"), false);
  });
});
