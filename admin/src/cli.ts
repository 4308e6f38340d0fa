// `support`: the commands and their flags. Each action hands its flags and a
// context to the command's function; every error ends in the one handler.
import { join } from "node:path";
// Only commander and two small modules of common load up front: a command's
// module (and the api client, its schemas, execa, the providers) loads when
// that command runs, so `--help` costs little more than starting node.
/* eslint-disable @typescript-eslint/no-require-imports */
import { EXIT_CODES, ExitCode, exitCodesHelp } from "@support-tunnel/common/dist/exit-codes";
import { packageVersion } from "@support-tunnel/common/dist/display";
import { ENTERED_STATES } from "@support-tunnel/common/dist/state";
import { oneLineUsageErrors } from "@support-tunnel/common/dist/usage-errors";
import { Argument, Command, CommanderError, Option } from "commander";
import { registerAccessCommands } from "./access-cli";
import { registerConfigCommands } from "./config-cli";
import { registerEngineerCommands } from "./engineers-cli";
import type { CommonFlags, MainIo } from "./context";

export type { MainIo };

const load = {
  access: () => require("./commands/access") as typeof import("./commands/access"),
  audit: () => require("./commands/audit") as typeof import("./commands/audit"),
  command: () => require("./commands/command") as typeof import("./commands/command"),
  completion: () => require("./completion") as typeof import("./completion"),
  config: () => require("./commands/config") as typeof import("./commands/config"),
  connect: () => require("./commands/connect") as typeof import("./commands/connect"),
  cp: () => require("./commands/cp") as typeof import("./commands/cp"),
  create: () => require("./commands/create") as typeof import("./commands/create"),
  engineers: () => require("./commands/engineers") as typeof import("./commands/engineers"),
  forward: () => require("./commands/forward") as typeof import("./commands/forward"),
  collect: () => require("./commands/collect") as typeof import("./commands/collect"),
  gc: () => require("./commands/gc") as typeof import("./commands/gc"),
  list: () => require("./commands/list") as typeof import("./commands/list"),
  login: () => require("./commands/login") as typeof import("./commands/login"),
  proxy: () => require("./commands/proxy") as typeof import("./commands/proxy"),
  show: () => require("./commands/show") as typeof import("./commands/show"),
  sshConfig: () => require("./commands/ssh-config") as typeof import("./commands/ssh-config"),
  stop: () => require("./commands/stop") as typeof import("./commands/stop"),
  whoami: () => require("./commands/whoami") as typeof import("./commands/whoami"),
  context: () => require("./context") as typeof import("./context"),
  errors: () => require("./errors") as typeof import("./errors"),
};

const EXIT_CODES_HELP = `
${exitCodesHelp(EXIT_CODES.map((e) => e.code))}
\`command\` and \`connect\` otherwise exit with the remote command's exit code.`;

function common(cmd: Command, json = true): Command {
  cmd.option(
    "--config <path>",
    "config file (default $XDG_CONFIG_HOME/support-tunnel/admin.json; env SUPPORT_ADMIN_CONFIG)",
  );
  if (json) cmd.option("--json", "machine-readable output on stdout");
  return cmd.option("-q, --quiet", "no progress output on stderr");
}

/** Runs the CLI and returns the exit code; bin.ts exits with it. */
export async function main(argv: string[], io: MainIo = process): Promise<number> {
  const ctx = (flags: CommonFlags) => load.context().createContext(flags, io);

  const program = new Command("support")
    .description(
      "Support engineer CLI: approve tunnels, get a root shell on customer devices, tear it all down.",
    )
    .version(packageVersion(join(__dirname, "..")), "-V, --version", "print the version")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .addHelpText("after", EXIT_CODES_HELP);

  common(
    program
      .command("login")
      .description(
        "store the api url and your token (0600); the token is asked for without echo, or read from stdin with --with-token",
      ),
    true,
  )
    .requiredOption("--api <url>", "api base url, e.g. https://support.example.com")
    .option("--with-token", "read your engineer token (ste_...) from stdin")
    // Declared only to refuse it with a message saying how to pass the token instead.
    .addOption(new Option("--token <token>").hideHelp())
    .option("--identity <path>", "SSH private key used on tunnel servers")
    .option("--lab <name>", "default lab for the netns provider")
    .option("--ssh-host <user@addr[:port]>", "default host for the ssh provider")
    .action(
      async (
        opts: CommonFlags & {
          api: string;
          token?: string;
          withToken?: boolean;
          identity?: string;
          lab?: string;
          sshHost?: string;
        },
      ) => {
        await load.login().login({ ...opts, ctx: await ctx(opts) });
      },
    );

  common(program.command("whoami").description("who the api thinks you are")).action(
    async (opts: CommonFlags) => {
      await load.whoami().whoami({ ctx: await ctx(opts) });
    },
  );

  common(
    program
      .command("list")
      .description(
        "list live tunnels, newest first, with their age (--all: ended ones too); --json prints {tunnels: [...]}",
      ),
  )
    .addOption(new Option("--state <state>", "only tunnels in this state").choices(ENTERED_STATES))
    .option("--all", "every tunnel, ended ones too")
    .action(async (opts: CommonFlags & { state?: string; all?: boolean }) => {
      await load.list().list({ state: opts.state, all: opts.all, ctx: await ctx(opts) });
    });

  common(
    program.command("show").description("show one tunnel").argument("<id>", "tunnel id"),
  ).action(async (id: string, opts: CommonFlags) => {
    await load.show().show({ id, ctx: await ctx(opts) });
  });

  common(
    program
      .command("audit")
      .description(
        "the audit log of one tunnel; without an id (admins) the whole log, engineer and group events too, newest first",
      )
      .argument("[id]", "tunnel id"),
  )
    .option("--engineer <name>", "whole log: only what this engineer did")
    .option("--action <action>", "whole log: only this action, or family (engineer, tunnel.stop)")
    .option("--limit <n>", "whole log: the newest N entries (default 50)")
    .option("--all", "whole log: every entry")
    .action(
      async (
        id: string | undefined,
        opts: CommonFlags & { engineer?: string; action?: string; limit?: string; all?: boolean },
      ) => {
        await load.audit().audit({ ...opts, id, ctx: await ctx(opts) });
      },
    );

  common(
    program
      .command("create")
      .description(
        "approve a pending tunnel: obtain a server, configure it, seal the approval, wait for the device",
      )
      .argument("<id>", "tunnel id"),
  )
    .addOption(
      new Option(
        "--provider <name>",
        "where the tunnel server comes from (default: env SUPPORT_PROVIDER, else `support config set provider NAME`)",
      ).choices(["gcp", "ssh", "netns"]),
    )
    .option(
      "--psk <source>",
      "`-` reads the PSK the customer sent from stdin (default: asked for without echo); a PSK itself here is refused: ps and shell history would see it",
    )
    .option("--host <user@addr[:port]>", "ssh provider: the host to use")
    .option("--lab <name>", "netns provider: the lab to add the server to (env SUPPORT_LAB)")
    .option("--identity <path>", "SSH private key used on the server (default ~/.ssh/id_ed25519)")
    .option("--timeout <seconds>", "how long to wait for the device to connect", "120")
    .action(
      async (
        id: string,
        opts: CommonFlags & {
          provider?: string;
          psk?: string;
          host?: string;
          lab?: string;
          identity?: string;
          timeout: string;
        },
      ) => {
        await load.create().create({ ...opts, id, ctx: await ctx(opts) });
      },
    );

  common(
    program
      .command("connect")
      .description("interactive root shell on the device (through the tunnel server)")
      .argument("<id>", "tunnel id"),
    false,
  ).action(async (id: string, opts: CommonFlags) => {
    await load.connect().connect({ id, ctx: await ctx(opts) });
  });

  common(
    program
      .command("command")
      .description("run one command as root on the device; exits with its exit code")
      .argument("<id>", "tunnel id")
      .argument("<cmd...>", "the command and its arguments, after --")
      .usage("[options] <id> -- <cmd> [args...]"),
    false,
  ).action(async (id: string, argv: string[], opts: CommonFlags) => {
    await load.command().command({ id, argv, ctx: await ctx(opts) });
  });

  common(
    program
      .command("ssh-config")
      .description(
        "print the OpenSSH Host block (support-<short id>) with which stock ssh, scp, sftp, rsync, VS Code and Ansible reach the device through the tunnel server",
      )
      .argument("<id>", "tunnel id"),
  )
    .option("--install", "write it under the config dir and Include that from ~/.ssh/config")
    .option("--uninstall", "remove it (stop and gc also do)")
    .action(async (id: string, opts: CommonFlags & { install?: boolean; uninstall?: boolean }) => {
      await load.sshConfig().sshConfig({ ...opts, id, ctx: await ctx(opts) });
    });

  // The ProxyCommand of the ssh-config Host block: not for people.
  program
    .command("proxy", { hidden: true })
    .argument("<id>", "tunnel id")
    .option("--config <path>", "config file")
    .action(async (id: string, opts: CommonFlags) => {
      await load.proxy().proxy({ id, ctx: await ctx({ ...opts, quiet: false }) });
    });

  common(
    program
      .command("cp")
      .description(
        "copy files to or from the device (`:` marks its paths): support cp ID ./fix.sh :/tmp/, support cp ID :/var/log/syslog .",
      )
      .argument("<id>", "tunnel id")
      .argument("<paths...>", "SRC... DST, the device's side marked with `:`"),
    false,
  )
    .option("-r, --recursive", "copy directories")
    .action(async (id: string, paths: string[], opts: CommonFlags & { recursive?: boolean }) => {
      await load.cp().cp({ ...opts, id, paths, ctx: await ctx(opts) });
    });

  common(
    program
      .command("forward")
      .description(
        "open a device port on 127.0.0.1 here until Ctrl-C (only ports the customer allowed); prints the local URL",
      )
      .argument("<id>", "tunnel id")
      .argument(
        "<[local:]port>",
        "the device port, e.g. 80; LOCAL: the local port (default: the same if free, else any)",
      ),
  ).action(async (id: string, target: string, opts: CommonFlags) => {
    await load.forward().forward({ id, target, ctx: await ctx(opts) });
  });

  common(
    program
      .command("collect")
      .description(
        "gather a diagnostics bundle from the device (OS, disks, memory, network, journal, dmesg, units, Docker) into a .tar.gz",
      )
      .argument("<id>", "tunnel id"),
  )
    .option(
      "-o, --output <file>",
      "where to write it (default support-<short id>-<time>.tar.gz here)",
    )
    .action(async (id: string, opts: CommonFlags & { output?: string }) => {
      await load.collect().collect({ id, output: opts.output, ctx: await ctx(opts) });
    });

  common(
    program
      .command("stop")
      .description("end a tunnel and destroy its server")
      .argument("<id>", "tunnel id"),
  )
    .option("--reason <text>", "why, for the audit log")
    .option("--lab <name>", "netns provider: the lab (env SUPPORT_LAB)")
    .option("--identity <path>", "SSH private key used on the server")
    .action(
      async (
        id: string,
        opts: CommonFlags & { reason?: string; lab?: string; identity?: string },
      ) => {
        await load.stop().stop({ ...opts, id, ctx: await ctx(opts) });
      },
    );

  common(
    program
      .command("gc")
      .description("stop expired tunnels; destroy every server whose tunnel is over"),
  )
    .option("--lab <name>", "also look for orphan servers in this lab (env SUPPORT_LAB)")
    .option("--host <user@addr[:port]>", "also look for orphan tunnels on this ssh host")
    .option("--identity <path>", "SSH private key used on the servers")
    .action(async (opts: CommonFlags & { lab?: string; host?: string; identity?: string }) => {
      await load.gc().gc({ ...opts, ctx: await ctx(opts) });
    });

  registerAccessCommands(program, (cmd) => common(cmd), ctx, load.access);
  registerEngineerCommands(program, (cmd) => common(cmd), ctx, load.engineers);
  registerConfigCommands(program, common, ctx, load.config);

  program
    .command("completion")
    .description("print a completion script for bash, zsh or fish (see the README to install it)")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(["bash", "zsh", "fish"]))
    .action((shell: "bash" | "zsh" | "fish") => {
      io.stdout.write(load.completion().renderCompletion(shell, "support", program));
    });

  oneLineUsageErrors(program, "error: ");

  try {
    await program.parseAsync(argv);
    return ExitCode.Ok;
  } catch (err) {
    // Help is not an error: commander has printed it, and nothing else needs loading.
    if (
      err instanceof CommanderError &&
      (err.code === "commander.helpDisplayed" || err.code === "commander.help")
    )
      return ExitCode.Ok;
    return load.errors().exitCodeFor(err, load.context().plainPrinter(io));
  }
}
