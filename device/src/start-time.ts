// When access opens (`request --start TIME`), read the way a person types it:
// an ISO time, `+2h` from now, or `14:00` meaning the next 14:00 here (today, or
// tomorrow if it has passed). Pure: the caller passes the device's clock.
import { parseDuration } from "./config";
import { UsageError } from "./errors";

/** As far ahead as the longest grant: a start beyond it is surely a typo. */
export const MAX_START_AHEAD_MS = 7 * 24 * 3600 * 1000;

const RELATIVE = /^\+\s*(\d+\s*[smhd]?)$/;
const CLOCK_TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;
/** A date and a time; without an offset it is local time, as Date.parse reads it. */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Date.parse rolls 2026-02-31 over to March: a day the month lacks is a typo. */
function isRealDay(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
}

/** The time `text` names, by the clock `now` (ms); a UsageError names what is wrong. */
export function parseStartTime(text: string, now: number): Date {
  const given = text.trim();
  let at: number;
  const relative = RELATIVE.exec(given);
  const clock = CLOCK_TIME.exec(given);
  const iso = ISO_TIME.exec(given);
  if (relative) {
    at = now + parseDuration(relative[1]!) * 1000;
  } else if (clock) {
    const today = new Date(now);
    today.setHours(Number(clock[1]), Number(clock[2]), 0, 0);
    if (today.getTime() <= now) today.setDate(today.getDate() + 1);
    at = today.getTime();
  } else if (iso) {
    at = Date.parse(given.replace(" ", "T"));
    if (Number.isNaN(at) || !isRealDay(Number(iso[1]), Number(iso[2]), Number(iso[3])))
      throw new UsageError(`--start ${text}: not a valid date and time`);
    if (at < now) throw new UsageError(`--start ${text} is in the past`);
  } else {
    throw new UsageError(
      `--start ${text}: give a time like 2026-11-24T14:00, 14:00 (the next 14:00 here) or +2h`,
    );
  }
  if (at - now > MAX_START_AHEAD_MS) {
    throw new UsageError(`--start ${text} is more than 7 days ahead`);
  }
  return new Date(at);
}
