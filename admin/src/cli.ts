// `support`: declares the commands and flags, wires the real adapters, and is the
// one place that turns errors into a message and an exit code.
import {
  ApiError,
  ApiUnreachableError,
  ENTERED_STATES,
  ValidationError,
  Printer,
} from "@support-tunnel/common";
import { Command, CommanderError, Option } from "commander";
import { promptHidden, pinHostKey, readAllStdin, runSystemSsh } from "./adapters";
import { readEnvironment, resolveConfig, type Environment } from "./config";
import { apiClientFor, type Context } from "./context";
import { audit } from "./commands/audit";
import { command } from "./commands/command";
import { connect } from "./commands/connect";
import { create } from "./commands/create";
import { gc } from "./commands/gc";
import { list } from "./commands/list";
import { login } from "./commands/login";
import { show } from "./commands/show";
import { stop } from "./commands/stop";
import { whoami } from "./commands/whoami";
import { CliError, ExitCode, ExitWith } from "./errors";
import { resolveIdentity } from "./identity";
import { createProvider } from "./providers/registry";
import { FileServerRecordStore } from "./server-records";
import { connectNodeSsh } from "./ssh/remote-shell";
import { parseTunnelId } from "./tunnel-id";
import type { TunnelServerProvider } from "./providers/provider";

interface CommonFlags {
  json?: boolean;
  config?: string;
  quiet?: boolean;
}

export interface MainIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

function common(cmd: Command, json = true): Command {
  cmd.option(
    "--config <path>",
    "config file (default $XDG_CONFIG_HOME/support-tunnel/admin.json; env SUPPORT_ADMIN_CONFIG)",
  );
  if (json) cmd.option("--json", "machine-readable output on stdout");
  return cmd.option("-q, --quiet", "no progress output on stderr");
}

export async function main(argv: string[], io: MainIo = process): Promise<number> {
  let printer = new Printer({ stdout: io.stdout, stderr: io.stderr, json: false, tty: false });
  const running: { pending: Promise<void> | null } = { pending: null };

  const setup = async (flags: CommonFlags): Promise<Context> => {
    const base = readEnvironment(io.env);
    const env: Environment = flags.config ? { ...base, configPath: flags.config } : base;
    printer = new Printer({
      stdout: io.stdout,
      stderr: io.stderr,
      json: flags.json === true,
      tty: env.stderrIsTty,
      quiet: flags.quiet,
    });
    const config = await resolveConfig(env);
    return { printer, env, config, api: () => apiClientFor(config) };
  };
  const action =
    <A extends unknown[]>(fn: (...args: A) => Promise<unknown>) =>
    (...args: A) => {
      running.pending = fn(...args).then(() => undefined);
    };

  const program = new Command("support")
    .description(
      "Support engineer CLI: approve tunnels, get a root shell on customer devices, tear it all down.",
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError();

  common(program.command("login").description("store the api url and your token (0600)"), true)
    .requiredOption("--api <url>", "api base url, e.g. https://support.example.com")
    .requiredOption("--token <token>", "your engineer token (ste_...)")
    .option("--identity <path>", "SSH private key used on tunnel servers")
    .option("--lab <name>", "default lab for the netns provider")
    .option("--ssh-host <user@addr[:port]>", "default host for the ssh provider")
    .action(
      action(
        async (
          opts: CommonFlags & {
            api: string;
            token: string;
            identity?: string;
            lab?: string;
            sshHost?: string;
          },
        ) => {
          const ctx = await setup(opts);
          await login(ctx, opts);
        },
      ),
    );

  common(program.command("whoami").description("who the api thinks you are")).action(
    action(async (opts: CommonFlags) => {
      await whoami(await setup(opts));
    }),
  );

  common(program.command("list").description("list tunnels"))
    .addOption(new Option("--state <state>", "only tunnels in this state").choices(ENTERED_STATES))
    .action(
      action(async (opts: CommonFlags & { state?: string }) => {
        await list(await setup(opts), opts);
      }),
    );

  common(
    program.command("show").description("show one tunnel").argument("<id>", "tunnel id"),
  ).action(
    action(async (id: string, opts: CommonFlags) => {
      await show(await setup(opts), id);
    }),
  );

  common(
    program
      .command("audit")
      .description("the audit log of one tunnel")
      .argument("<id>", "tunnel id"),
  ).action(
    action(async (id: string, opts: CommonFlags) => {
      await audit(await setup(opts), id);
    }),
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
      new Option("--provider <name>", "where the tunnel server comes from")
        .choices(["netns", "ssh", "gcp"])
        .default("netns"),
    )
    .option(
      "--psk <value>",
      "the PSK the customer sent; `-` reads it from stdin (default: prompt without echo)",
    )
    .option("--host <user@addr[:port]>", "ssh provider: the host to use")
    .option("--lab <name>", "netns provider: the lab to add the server to (env SUPPORT_LAB)")
    .option("--identity <path>", "SSH private key used on the server (default ~/.ssh/id_ed25519)")
    .option("--timeout <seconds>", "how long to wait for the device to connect", "120")
    .action(
      action(
        async (
          id: string,
          opts: CommonFlags & {
            provider: string;
            psk?: string;
            host?: string;
            lab?: string;
            identity?: string;
            timeout: string;
          },
        ) => {
          const ctx = await setup(opts);
          parseTunnelId(id);
          const timeoutSeconds = Number(opts.timeout);
          if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) {
            throw new CliError("--timeout must be a whole number of seconds", ExitCode.Usage);
          }
          const api = ctx.api();
          const identity = await resolveIdentity(ctx.config, opts.identity);
          const provider = createProvider(opts.provider, {
            config: ctx.config,
            identity,
            host: opts.host,
            lab: opts.lab,
            env: ctx.env.raw,
          });
          const readPsk = async (): Promise<string> => {
            if (opts.psk === "-") return readAllStdin();
            if (opts.psk !== undefined) return opts.psk;
            if (!ctx.env.stdinIsTty) {
              throw new CliError(
                "no PSK: pass --psk VALUE, or --psk - to read it from stdin",
                ExitCode.Usage,
              );
            }
            return promptHidden("PSK from the customer");
          };
          // Ctrl-C during create aborts it, and the failure path destroys the server.
          const controller = new AbortController();
          const onSigint = () => {
            ctx.printer.info("interrupted: cleaning up");
            controller.abort(new CliError("interrupted", ExitCode.Interrupted));
          };
          process.on("SIGINT", onSigint);
          try {
            await create(
              id,
              { timeoutSeconds },
              {
                api,
                provider,
                connectShell: connectNodeSsh,
                records: new FileServerRecordStore(ctx.config.dir),
                pinHostKey,
                readPsk,
                printer: ctx.printer,
                signal: controller.signal,
              },
            );
          } finally {
            process.off("SIGINT", onSigint);
          }
        },
      ),
    );

  common(
    program
      .command("connect")
      .description("interactive root shell on the device (through the tunnel server)")
      .argument("<id>", "tunnel id"),
    false,
  ).action(
    action(async (id: string, opts: CommonFlags) => {
      const ctx = await setup(opts);
      await connect(id, {
        api: ctx.api(),
        records: new FileServerRecordStore(ctx.config.dir),
        runSsh: runSystemSsh,
      });
    }),
  );

  common(
    program
      .command("command")
      .description("run one command as root on the device; exits with its exit code")
      .argument("<id>", "tunnel id")
      .argument("<cmd...>", "the command and its arguments, after --")
      .usage("[options] <id> -- <cmd> [args...]"),
    false,
  ).action(
    action(async (id: string, cmd: string[], opts: CommonFlags) => {
      const ctx = await setup(opts);
      await command(id, cmd, {
        api: ctx.api(),
        records: new FileServerRecordStore(ctx.config.dir),
        runSsh: runSystemSsh,
      });
    }),
  );

  const providerFactory = async (
    ctx: Context,
    opts: { lab?: string; host?: string; identity?: string },
  ) => {
    const identity = await resolveIdentity(ctx.config, opts.identity);
    return (name: string) =>
      createProvider(name, {
        config: ctx.config,
        identity,
        host: opts.host,
        lab: opts.lab,
        env: ctx.env.raw,
      });
  };

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
      action(
        async (
          id: string,
          opts: CommonFlags & { reason?: string; lab?: string; identity?: string },
        ) => {
          const ctx = await setup(opts);
          const providerFor = await providerFactory(ctx, opts);
          await stop(id, opts, {
            api: ctx.api(),
            records: new FileServerRecordStore(ctx.config.dir),
            providerFor,
            printer: ctx.printer,
          });
        },
      ),
    );

  common(
    program
      .command("gc")
      .description("stop expired tunnels; destroy every server whose tunnel is over"),
  )
    .option("--lab <name>", "also look for orphan servers in this lab (env SUPPORT_LAB)")
    .option("--host <user@addr[:port]>", "also look for orphan tunnels on this ssh host")
    .option("--identity <path>", "SSH private key used on the servers")
    .action(
      action(async (opts: CommonFlags & { lab?: string; host?: string; identity?: string }) => {
        const ctx = await setup(opts);
        const providerFor = await providerFactory(ctx, opts);
        const listable: TunnelServerProvider[] = [];
        if (opts.lab ?? ctx.config.lab) listable.push(providerFor("netns"));
        if (opts.host ?? ctx.config.file?.ssh?.host) listable.push(providerFor("ssh"));
        const result = await gc({
          api: ctx.api(),
          records: new FileServerRecordStore(ctx.config.dir),
          providerFor,
          printer: ctx.printer,
          listable,
        });
        if (result.errors.length > 0) throw new ExitWith(ExitCode.Failure);
      }),
    );

  try {
    await program.parseAsync(argv);
    if (running.pending) await running.pending;
    return ExitCode.Ok;
  } catch (err) {
    return exitCodeFor(err, printer);
  }
}

/** The one error handler: a message on stderr and an exit code. */
export function exitCodeFor(err: unknown, printer: Printer): number {
  if (err instanceof ExitWith) return err.exitCode;
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version")
      return ExitCode.Ok;
    if (err.code === "commander.help") return ExitCode.Ok;
    return ExitCode.Usage;
  }
  if (err instanceof CliError) {
    printer.error(err.message);
    return err.exitCode;
  }
  if (err instanceof ApiError) {
    printer.error(`api: ${err.message}`);
    if (err.status === 401 || err.status === 403) return ExitCode.Refused;
    if (err.status === 404) return ExitCode.NotFound;
    if (err.status === 409) return ExitCode.Conflict;
    if (err.status === 400 || err.status === 422) return ExitCode.Usage;
    return ExitCode.Failure;
  }
  if (err instanceof ApiUnreachableError) {
    printer.error(err.message);
    return ExitCode.Unreachable;
  }
  if (err instanceof ValidationError) {
    printer.error(err.message);
    return ExitCode.Usage;
  }
  printer.error(err instanceof Error ? err.message : String(err));
  return ExitCode.Failure;
}
