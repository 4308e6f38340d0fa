// `support engineers …` and their flags: admins list, add and revoke engineers.
// Declared here, beside cli.ts, so the tunnel commands there stay as they were;
// like cli.ts, it loads the commands' module only when one of them runs.
import { Option, type Command } from "commander";
import type { CommonFlags, Context } from "./context";

export function registerEngineerCommands(
  program: Command,
  common: (cmd: Command) => Command,
  ctx: (flags: CommonFlags) => Promise<Context>,
  load: () => typeof import("./commands/engineers"),
): void {
  const engineers = common(
    program
      .command("engineers")
      .description(
        "admin: list engineers, revoked ones too (no tokens); --json prints {engineers: [...]}",
      ),
  ).action(async (opts: CommonFlags) => {
    await load().engineersList({ ctx: await ctx(opts) });
  });
  common(
    engineers.command("list").description("admin: list engineers (the same as `engineers`)"),
  ).action(async (_: CommonFlags, cmd: Command) => {
    // The parent's flags: commander gives `--json` after the subcommand to it.
    await load().engineersList({ ctx: await ctx(cmd.optsWithGlobals<CommonFlags>()) });
  });
  common(
    engineers
      .command("add")
      .description("admin: create an engineer; prints their token once, to hand over privately")
      .argument("<name>", "engineer name (2 to 32 of a-z 0-9 . _ -)"),
  )
    .addOption(
      new Option("--role <role>", "what they may do")
        .choices(["viewer", "operator", "admin"])
        .makeOptionMandatory(),
    )
    .action(async (name: string, _: CommonFlags, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags & { role: string }>();
      await load().engineersAdd({ name, role: opts.role, ctx: await ctx(opts) });
    });
  common(
    engineers
      .command("revoke")
      .description(
        "admin: revoke an engineer: their token stops working and the live tunnels they approved end",
      )
      .argument("<name>", "engineer name"),
  )
    .option("-y, --yes", "do not ask for confirmation (needed without a terminal)")
    .action(async (name: string, _: CommonFlags, cmd: Command) => {
      const opts = cmd.optsWithGlobals<CommonFlags & { yes?: boolean }>();
      await load().engineersRevoke({ name, yes: opts.yes, ctx: await ctx(opts) });
    });
}
