// Times as a person reads them beside the ISO ones: "in 29 min", "3 h ago".
// Rounded down, so a tunnel "in 1 min" from expiry never has less than a minute left
// shown as more.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A duration in words: "45 s", "29 min", "1 h 12 min", "5 h", "3 d". */
export function humanDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < MINUTE) return `${Math.floor(abs / 1000)} s`;
  if (abs < HOUR) return `${Math.floor(abs / MINUTE)} min`;
  if (abs < 10 * HOUR) {
    const h = Math.floor(abs / HOUR);
    const min = Math.floor((abs % HOUR) / MINUTE);
    return min === 0 ? `${h} h` : `${h} h ${min} min`;
  }
  if (abs < 2 * DAY) return `${Math.floor(abs / HOUR)} h`;
  return `${Math.floor(abs / DAY)} d`;
}

/** "in 29 min" for a time ahead of `now`, "3 h ago" for one past, "now" within a second. */
export function relativeTime(at: Date | string, now: number = Date.now()): string {
  const ms = (typeof at === "string" ? Date.parse(at) : at.getTime()) - now;
  if (Number.isNaN(ms)) return "?";
  if (Math.abs(ms) < 1000) return "now";
  return ms > 0 ? `in ${humanDuration(ms)}` : `${humanDuration(ms)} ago`;
}

/** The ISO time with the relative one beside it: `2030-01-01T12:00:00.000Z (in 29 min)`. */
export function isoWithRelative(at: string, now: number = Date.now()): string {
  return `${at} (${relativeTime(at, now)})`;
}
