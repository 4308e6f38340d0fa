// `support config` and its subcommands, declared beside cli.ts like the access
// commands; the command module loads only when one of them runs.
import type { Command } from "commander";
import type { CommonFlags, Context } from "./context";

export function registerConfigCommands(
  program: Command,
  common: (cmd: Command, json?: boolean) => Command,
  ctx: (flags: CommonFlags) => Promise<Context>,
  load: () => typeof import("./commands/config"),
): void {
  const config = program
    .command("config")
    .description(
      "read and change your config file: api, provider (the default of create), identity, netns.lab, ssh.host, ssh.knownHosts, gcp.*",
    );
  common(config.command("list").description("every key that is set, and its value")).action(
    async (opts: CommonFlags) => {
      await load().configList({ ctx: await ctx(opts) });
    },
  );
  common(
    config
      .command("get")
      .description("one key's value (exit 1 when it is not set); without a key, like list")
      .argument("[key]", "e.g. provider, api, gcp.zone"),
  ).action(async (key: string | undefined, opts: CommonFlags) => {
    if (key === undefined) await load().configList({ ctx: await ctx(opts) });
    else await load().configGet({ key, ctx: await ctx(opts) });
  });
  common(
    config
      .command("set")
      .description("set a key; the value is checked first, and a refused one changes nothing")
      .argument("<key>", "e.g. provider")
      .argument("<value>", "e.g. gcp"),
    false,
  ).action(async (key: string, value: string, opts: CommonFlags) => {
    await load().configSet({ key, value, ctx: await ctx(opts) });
  });
  common(
    config.command("unset").description("remove a key").argument("<key>", "e.g. netns.lab"),
    false,
  ).action(async (key: string, opts: CommonFlags) => {
    await load().configUnset({ key, ctx: await ctx(opts) });
  });
}
