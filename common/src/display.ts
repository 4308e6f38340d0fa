// Text for a terminal, shared by the two CLIs. Strings in api answers are made
// safe as they are parsed (untrusted.ts, visible escapes); table cells and other
// local text go through the same check once more, each unsafe character a `?`.
import { readFileSync } from "node:fs";
import { sanitizeText } from "./untrusted";

/** Replaces control, bidi and invisible characters (see sanitizeText) with `?`. */
export function printable(text: string): string {
  return sanitizeText(text, { replaceWith: "?" });
}

/** A plain table: one header row, columns padded to their widest cell, cells made printable. */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const clean = rows.map((row) => row.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...clean.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...clean.map(line)].join("\n");
}

/**
 * Cuts each line to `columns` characters (a terminal's width), ending a cut line
 * in `…`, so a wide table does not wrap into an unreadable one. No width: as is.
 */
export function fitToWidth(text: string, columns: number | undefined): string {
  if (!columns || columns < 10) return text;
  return text
    .split("\n")
    .map((line) =>
      [...line].length > columns ? [...line].slice(0, columns - 1).join("") + "…" : line,
    )
    .join("\n");
}

/**
 * The version of the package in `packageDir` (each binary passes its own, one
 * level above its dist/), as `--version` prints it.
 */
export function packageVersion(packageDir: string): string {
  try {
    const parsed = JSON.parse(readFileSync(`${packageDir}/package.json`, "utf8")) as {
      version?: unknown;
    };
    return typeof parsed.version === "string" ? parsed.version : "unknown";
  } catch {
    return "unknown";
  }
}

/** `512 B`, `3.1 kB`, `1.2 MB`, `2.0 GB` (powers of 1000, as people read sizes). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  // Past 999.5 it would round to 1000: the next unit says it better.
  while (value >= 999.5 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 9.95 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
