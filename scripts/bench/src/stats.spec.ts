import assert from "node:assert/strict";
import { median, percentile, ratio, summarize } from "./stats";

describe("bench statistics", () => {
  it("takes nearest-rank percentiles, whatever the order of the values", () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    assert.equal(percentile(values, 50), 5);
    assert.equal(percentile(values, 99), 10);
    assert.equal(percentile(values, 0), 1);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it("summarizes runs as min, median and max, and compares medians", () => {
    assert.equal(median([3, 1, 2, 4]), 2.5);
    const subject = summarize([2, 6, 4]);
    assert.deepEqual([subject.min, subject.median, subject.max], [2, 4, 6]);
    assert.equal(ratio(subject, summarize([1, 2, 3])), 2);
  });
});
