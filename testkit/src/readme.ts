// The README's command tables, read for the tests that hold them to the CLIs:
// a command added without a row, or a row left for a command that went, fails.
import { readFileSync } from "node:fs";
import path from "node:path";

/** The repository's README.md (testkit's dist sits two levels below the root). */
export function readReadme(): string {
  return readFileSync(path.resolve(__dirname, "..", "..", "README.md"), "utf8");
}

/**
 * The commands a README table names: the first column's code spans, each read up
 * to its first word that is not a command word (`<id>`, `NAME`, `[--json]`), with
 * every parent of a subcommand too (`group add-member` names `group`). The table
 * is the first one after the heading `heading` (its whole line, e.g. "### Commands").
 */
export function commandsInTable(readme: string, heading: string): string[] {
  const lines = readme.split("\n");
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`README.md has no heading ${JSON.stringify(heading)}`);
  let i = start + 1;
  while (i < lines.length && !lines[i]!.startsWith("|")) i++;
  const found = new Set<string>();
  // Skip the header and the |---| line; the table ends at the first line that is not a row.
  for (i += 2; i < lines.length && lines[i]!.startsWith("|"); i++) {
    const first = lines[i]!.split(/(?<!\\)\|/)[1] ?? "";
    for (const [, span] of first.matchAll(/`([^`]+)`/g)) {
      const words: string[] = [];
      for (const word of span!.split(/\s+/)) {
        if (!/^[a-z][a-z-]*$/.test(word)) break;
        words.push(word);
        found.add(words.join(" "));
      }
    }
  }
  return [...found].sort();
}
