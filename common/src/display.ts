// Text for a terminal, shared by the two CLIs. Strings in api answers (hostnames,
// descriptions, reasons) are not trusted: a control character in them could
// move the cursor or rewrite what an engineer sees, so every cell is made printable.

/** Replaces C0/C1 control characters (including newlines and ESC) with `?`. */
export function printable(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    out += code <= 0x1f || (code >= 0x7f && code <= 0x9f) ? "?" : ch;
  }
  return out;
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
