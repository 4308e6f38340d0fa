// The README's table of `support`'s commands is the CLI's list of commands: read
// from `--help` at every level, as a user finds them.
import assert from "node:assert/strict";
import { commandsInTable, readReadme } from "@support-tunnel/testkit";
import { main } from "./cli";

async function help(path: string[]): Promise<string> {
  let stdout = "";
  const code = await main(["node", "support", ...path, "--help"], {
    stdout: { write: (s: string) => ((stdout += s), true) } as never,
    stderr: { write: () => true } as never,
    env: { HOME: "/nonexistent" },
  });
  assert.equal(code, 0);
  return stdout;
}

/** The commands a `--help` lists (its "Commands:" section), without commander's `help`. */
function commandsOf(helpText: string): string[] {
  const lines = helpText.split("\n");
  const start = lines.indexOf("Commands:");
  if (start < 0) return [];
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === "") break;
    // A command's line starts two spaces in; a wrapped description, further.
    const name = /^ {2}([a-z][a-z-]*)\b/.exec(line)?.[1];
    if (name && name !== "help") names.push(name);
  }
  return names;
}

async function everyCommand(path: string[] = []): Promise<string[]> {
  const found: string[] = [];
  for (const name of commandsOf(await help(path))) {
    found.push([...path, name].join(" "), ...(await everyCommand([...path, name])));
  }
  return found;
}

describe("README: support's commands", () => {
  it("has a row for every command of `support`, and none for a command that does not exist", async () => {
    const inCli = (await everyCommand()).sort();
    assert.ok(inCli.includes("group add-member"), "subcommands are read too");
    assert.deepEqual(commandsInTable(readReadme(), "### Commands of `support`"), inCli);
  });
});
