import * as assert from "node:assert/strict";
import { UsageError } from "./errors";
import { parseStartTime } from "./start-time";

describe("parseStartTime", () => {
  // A local time, so `14:00` means the same here whatever TZ the test runs in.
  const now = new Date(2030, 0, 15, 10, 30, 0, 0).getTime();
  const local = (day: number, hours: number, minutes = 0) =>
    new Date(2030, 0, day, hours, minutes, 0, 0).getTime();

  it("reads +N with a unit as that long from now", () => {
    assert.equal(parseStartTime("+2h", now).getTime(), now + 2 * 3600_000);
    assert.equal(parseStartTime("+90m", now).getTime(), now + 90 * 60_000);
    assert.equal(parseStartTime("+20s", now).getTime(), now + 20_000);
    assert.equal(parseStartTime(" +1d ", now).getTime(), now + 24 * 3600_000);
  });

  it("reads HH:MM as today's when still ahead, else tomorrow's, in local time", () => {
    assert.equal(parseStartTime("14:00", now).getTime(), local(15, 14));
    assert.equal(parseStartTime("9:15", now).getTime(), local(16, 9, 15));
    assert.equal(parseStartTime("10:30", now).getTime(), local(16, 10, 30), "now is not ahead");
  });

  it("reads ISO times, with an offset or in local time", () => {
    assert.equal(
      parseStartTime("2030-01-16T14:00:00Z", now).toISOString(),
      "2030-01-16T14:00:00.000Z",
    );
    assert.equal(
      parseStartTime("2030-01-16T08:00+01:00", now).toISOString(),
      "2030-01-16T07:00:00.000Z",
    );
    assert.equal(parseStartTime("2030-01-15 16:45", now).getTime(), local(15, 16, 45));
  });

  it("refuses what it cannot read, a time past, a day the month lacks and more than 7 days ahead", () => {
    for (const [text, message] of [
      ["soon", /give a time like/],
      ["14h", /give a time like/],
      ["25:00", /give a time like/],
      ["+", /give a time like/],
      ["-2h", /give a time like/],
      ["2030-01-15", /give a time like/],
      ["2030-02-31T10:00", /not a valid date and time/],
      ["2030-01-15T10:00", /is in the past/],
      ["+8d", /more than 7 days ahead/],
      ["2030-02-01T00:00Z", /more than 7 days ahead/],
    ] as const) {
      assert.throws(
        () => parseStartTime(text, now),
        (err: unknown) => err instanceof UsageError && message.test(err.message),
        text,
      );
    }
  });
});
