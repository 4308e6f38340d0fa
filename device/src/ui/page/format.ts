// How the page words times and codes: relative times a person reads at a glance
// ("ends in 1 h 12 min"), clock times in the browser's locale, keys in groups.

/** `less than a minute`, `14 min`, `1 h 12 min`, `2 d 3 h`. */
export function durationInWords(ms: number): string {
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  if (minutes < 1) return "less than a minute";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/** `in 1 h 12 min` or `14 min ago`. */
export function relativeTime(iso: string, now: number): string {
  const ms = Date.parse(iso) - now;
  const words = durationInWords(ms);
  if (words === "less than a minute") return ms >= 0 ? "in less than a minute" : "just now";
  return ms >= 0 ? `in ${words}` : `${words} ago`;
}

/** `10:02`, or `3 Mar, 10:02` when not today. */
export function clockTime(iso: string, now: number): string {
  const at = new Date(iso);
  const sameDay = at.toDateString() === new Date(now).toDateString();
  return at.toLocaleString(undefined, {
    ...(sameDay ? {} : { day: "numeric", month: "short" }),
    hour: "numeric",
    minute: "2-digit",
  });
}

/** `10:02 (14 min ago)`. */
export function timeAndRelative(iso: string, now: number): string {
  return `${clockTime(iso, now)} (${relativeTime(iso, now)})`;
}

/** A key cut in groups of four for reading aloud; shown apart, copied whole. */
export function keyGroups(key: string): string[] {
  return key.match(/.{1,4}/g) ?? [];
}
