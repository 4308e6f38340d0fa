// The access commands and their flags: customers, groups, a group's members and
// customers, and the fleet of devices. Declared here, beside cli.ts, so the
// tunnel commands there stay as they were.
// Like cli.ts, it loads the commands' module only when one of them runs.
import { GROUP_ROLES } from "@support-tunnel/common/dist/group-roles";
import { Option, type Command } from "commander";
import type { CommonFlags, Context } from "./context";

export function registerAccessCommands(
  program: Command,
  common: (cmd: Command) => Command,
  ctx: (flags: CommonFlags) => Promise<Context>,
  load: () => typeof import("./commands/access"),
): void {
  const customers = common(
    program
      .command("customers")
      .description("list customers (admins: all; others: those your groups serve)"),
  ).action(async (opts: CommonFlags) => {
    await load().customersList({ ctx: await ctx(opts) });
  });
  common(
    customers
      .command("create")
      .description("admin: create a customer; prints its enrollment secret once")
      .argument("<name>", "customer name"),
  ).action(async (name: string, _: CommonFlags, cmd: Command) => {
    // The list's flags are the parent's: commander gives `--json` after the name to it.
    await load().customersCreate({ name, ctx: await ctx(cmd.optsWithGlobals<CommonFlags>()) });
  });
  common(
    customers
      .command("rotate-secret")
      .description("admin: replace a customer's enrollment secret; the old one stops working")
      .argument("<name>", "customer name"),
  ).action(async (name: string, _: CommonFlags, cmd: Command) => {
    // The list's flags are the parent's: commander gives `--json` after the name to it.
    await load().customersRotateSecret({
      name,
      ctx: await ctx(cmd.optsWithGlobals<CommonFlags>()),
    });
  });

  const groups = common(
    program.command("groups").description("list groups (admins: all; others: yours)"),
  ).action(async (opts: CommonFlags) => {
    await load().groupsList({ ctx: await ctx(opts) });
  });
  common(
    groups.command("create").description("admin: create a group").argument("<name>", "group name"),
  ).action(async (name: string, _: CommonFlags, cmd: Command) => {
    // The list's flags are the parent's: commander gives `--json` after the name to it.
    await load().groupsCreate({ name, ctx: await ctx(cmd.optsWithGlobals<CommonFlags>()) });
  });
  common(
    groups
      .command("show")
      .description("a group's members, roles, expiries and customers")
      .argument("<name>", "group name"),
  ).action(async (name: string, _: CommonFlags, cmd: Command) => {
    // The list's flags are the parent's: commander gives `--json` after the name to it.
    await load().groupsShow({ name, ctx: await ctx(cmd.optsWithGlobals<CommonFlags>()) });
  });

  const group = program
    .command("group")
    .description("change a group: its members and their roles, its customers");
  common(
    group
      .command("add-member")
      .description(
        "add an engineer with a role, or change their role (owners: any role; gatekeepers: member, guest)",
      )
      .argument("<group>", "group name")
      .argument("<engineer>", "engineer name"),
  )
    .addOption(
      new Option("--role <role>", "their role in the group")
        .choices(GROUP_ROLES)
        .makeOptionMandatory(),
    )
    .option(
      "--expires <when>",
      "members and guests: access ends by itself (30d, 12h, or an ISO time)",
    )
    .action(
      async (
        groupName: string,
        engineer: string,
        opts: CommonFlags & { role: string; expires?: string },
      ) => {
        await load().groupAddMember({ group: groupName, engineer, ...opts, ctx: await ctx(opts) });
      },
    );
  common(
    group
      .command("remove-member")
      .description("remove an engineer: their live tunnels of the group's customers end at once")
      .argument("<group>", "group name")
      .argument("<engineer>", "engineer name"),
  ).action(async (groupName: string, engineer: string, opts: CommonFlags) => {
    await load().groupRemoveMember({ group: groupName, engineer, ctx: await ctx(opts) });
  });
  common(
    group
      .command("add-customer")
      .description("owners, aclkeepers: the group serves this customer")
      .argument("<group>", "group name")
      .argument("<customer>", "customer name"),
  ).action(async (groupName: string, customer: string, opts: CommonFlags) => {
    await load().groupAddCustomer({ group: groupName, customer, ctx: await ctx(opts) });
  });
  common(
    group
      .command("remove-customer")
      .description("owners, aclkeepers: the group no longer serves this customer")
      .argument("<group>", "group name")
      .argument("<customer>", "customer name"),
  ).action(async (groupName: string, customer: string, opts: CommonFlags) => {
    await load().groupRemoveCustomer({ group: groupName, customer, ctx: await ctx(opts) });
  });

  common(
    program
      .command("devices")
      .description("devices you may see: customer, hostname, last request, live tunnel"),
  )
    .option("--customer <name>", "only this customer's devices")
    .action(async (opts: CommonFlags & { customer?: string }) => {
      await load().devices({ customer: opts.customer, ctx: await ctx(opts) });
    });
}
