// The README's table of `support-device`'s commands is the CLI's list of commands.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { commandsInTable, readReadme } from "@support-tunnel/testkit";
import type { Command } from "commander";
import { buildCli } from "./cli";

function everyCommand(cmd: Command, path: string[] = []): string[] {
  return cmd.commands.flatMap((sub) => {
    const here = [...path, sub.name()];
    return [here.join(" "), ...everyCommand(sub, here)];
  });
}

describe("README: support-device's commands", () => {
  it("has a row for every command of `support-device`, and none for a command that does not exist", () => {
    const program = buildCli(() => async () => undefined, {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
    });
    const readme = readReadme();
    // The device's table is the first "### Commands" (under "## The device").
    assert.ok(readme.indexOf("### Commands\n") > readme.indexOf("## The device\n"));
    assert.deepEqual(commandsInTable(readme, "### Commands"), everyCommand(program).sort());
  });
});
