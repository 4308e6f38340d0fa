import assert from "node:assert/strict";
import { humanDuration, isoWithRelative, relativeTime } from "./relative-time";

const NOW = Date.parse("2030-01-01T12:00:00.000Z");
const at = (ms: number) => new Date(NOW + ms);

describe("relative times", () => {
  it("says how far ahead a time is", () => {
    assert.equal(relativeTime(at(29 * 60_000 + 59_000), NOW), "in 29 min");
    assert.equal(relativeTime(at(45_000), NOW), "in 45 s");
    assert.equal(relativeTime(at(72 * 60_000), NOW), "in 1 h 12 min");
    assert.equal(relativeTime(at(2 * 3600_000), NOW), "in 2 h");
    assert.equal(relativeTime(at(30 * 3600_000), NOW), "in 30 h");
    assert.equal(relativeTime(at(3 * 86400_000), NOW), "in 3 d");
  });

  it("says how long ago a time was", () => {
    assert.equal(relativeTime(at(-3 * 3600_000 - 5 * 60_000), NOW), "3 h 5 min ago");
    assert.equal(relativeTime(at(-3 * 3600_000), NOW), "3 h ago");
    assert.equal(relativeTime(at(-90_000), NOW), "1 min ago");
    assert.equal(relativeTime(at(-200), NOW), "now");
  });

  it("puts the relative time beside the ISO one, and a ? for a time it cannot read", () => {
    assert.equal(
      isoWithRelative("2030-01-01T12:29:00.000Z", NOW),
      "2030-01-01T12:29:00.000Z (in 29 min)",
    );
    assert.equal(relativeTime("yesterday", NOW), "?");
    assert.equal(humanDuration(-61_000), "1 min");
  });
});
