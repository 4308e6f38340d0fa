// Commands and flags of `support-device`, and the one place errors become exit codes.
import {
  ApiError,
  ApiUnreachableError,
  exitCodesHelp,
  ttlSecondsSchema,
  tunnelIdSchema,
} from "@support-tunnel/common";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { agent } from "./commands/agent";
import { connect } from "./commands/connect";
import { gc } from "./commands/gc";
import { list } from "./commands/list";
import { request } from "./commands/request";
import { status } from "./commands/status";
import { stop } from "./commands/stop";
import { loadSettings, parseDuration, type GlobalFlags } from "./config";
import { contextFrom, realDeps, type CommandContext } from "./context";
import { DeviceError, ExitCode } from "./errors";
import { createPrinter, type OutputStreams } from "./printer";
import type { DeviceDeps } from "./tunnels";
import type { DeviceSettings } from "./config";

const EXIT_CODES_HELP = `
${exitCodesHelp([
  ExitCode.Ok,
  ExitCode.Failure,
  ExitCode.Usage,
  ExitCode.Refused,
  ExitCode.Conflict,
  ExitCode.Unreachable,
])}

Environment: SUPPORT_API_URL, SUPPORT_STATE_DIR, SUPPORT_DEVICE_CONFIG.
Config file (root-owned, not writable by group/others): /etc/support-tunnel/device.json`;

export interface MainOptions {
  streams?: OutputStreams;
  env?: NodeJS.ProcessEnv;
  /** For tests: replaces the real adapters. */
  deps?: (settings: DeviceSettings, log: (message: string) => void) => DeviceDeps;
  signal?: AbortSignal;
}

function tunnelIdArg(value: string): string {
  const parsed = tunnelIdSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError("must be a tunnel id (a lowercase UUID)");
  return parsed.data;
}

function durationArg(value: string): number {
  let seconds: number;
  try {
    seconds = parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  const checked = ttlSecondsSchema.safeParse(seconds);
  if (!checked.success) throw new InvalidArgumentError(checked.error.issues[0]!.message);
  return seconds;
}

/** Runs the CLI and returns the exit code; never exits the process itself. */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const streams = options.streams ?? { stdout: process.stdout, stderr: process.stderr };
  const signals = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, signals.signal])
    : signals.signal;
  const onSignal = () => signals.abort();
  if (!options.signal) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }

  const program = new Command("support-device")
    .description("Ask for remote support from this device, and let support in once approved.")
    .option("--api <url>", "api URL (env SUPPORT_API_URL)")
    .option(
      "--state-dir <dir>",
      "local state directory (env SUPPORT_STATE_DIR, default /var/lib/support-tunnel)",
    )
    .option(
      "--config <file>",
      "config file (env SUPPORT_DEVICE_CONFIG, default /etc/support-tunnel/device.json)",
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => streams.stdout.write(s),
      writeErr: (s) => streams.stderr.write(s),
    })
    .addHelpText("after", EXIT_CODES_HELP)
    .showHelpAfterError("(run with --help for usage)");

  const withContext =
    <A extends unknown[]>(work: (ctx: CommandContext, ...args: A) => Promise<void>) =>
    async (...args: A) => {
      const cmd = args[args.length - 1] as Command;
      const flags = cmd.optsWithGlobals<GlobalFlags & { json?: boolean }>();
      const settings = await loadSettings(flags, options.env ?? process.env);
      const printer = createPrinter({ json: flags.json === true, streams });
      const deps = (options.deps ?? realDeps)(settings, (m) => printer.info(m));
      await work(contextFrom(deps, printer, signal), ...args);
    };

  program
    .command("request")
    .description("request support: prints the tunnel id and preshared key to send to support")
    .option("--description <text>", "what the problem is (shown to support)")
    .addOption(
      new Option(
        "--duration <time>",
        "how long support may stay, e.g. 90m, 2h (default: the api's)",
      ).argParser(durationArg),
    )
    .addOption(
      new Option("--ttl <seconds>", "same as --duration, in seconds").argParser(durationArg),
    )
    .option("--wait", "stay until support approves, connect, then exit leaving the tunnel up")
    .option("--json", "print {tunnelId, presharedKey, expiresAt} as JSON")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(
      withContext(
        async (
          ctx,
          opts: { description?: string; duration?: number; ttl?: number; wait?: boolean },
        ) =>
          request(ctx, {
            description: opts.description,
            ttlSeconds: opts.duration ?? opts.ttl,
            wait: opts.wait,
          }),
      ),
    );

  program
    .command("connect")
    .description("verify the approval of a tunnel and bring it up (WireGuard, support user, sudo)")
    .argument("<id>", "tunnel id", tunnelIdArg)
    .option("--json", "print the result as JSON")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(withContext(async (ctx, id: string) => connect(ctx, { id })));

  program
    .command("agent")
    .description("run the agent: connect approved tunnels, enforce expiry, clean up after crashes")
    .addHelpText(
      "after",
      `\nTunnels that are up stay up when the agent stops; \`stop --all\` removes them.${EXIT_CODES_HELP}`,
    )
    .action(withContext(async (ctx) => agent(ctx)));

  program
    .command("stop")
    .description("remove a tunnel's user, interface and config, and tell the api (idempotent)")
    .argument("[id]", "tunnel id", tunnelIdArg)
    .option("--all", "stop every tunnel on this device")
    .option("--reason <text>", "why (recorded by the api)")
    .option("--json", "print the result as JSON")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(
      withContext(async (ctx, id: string | undefined, opts: { all?: boolean; reason?: string }) =>
        stop(ctx, { id, all: opts.all, reason: opts.reason }),
      ),
    );

  program
    .command("list")
    .description("tunnels on this device (local state)")
    .option("--json", "print as JSON")
    .action(withContext(async (ctx) => list(ctx)));

  program
    .command("status")
    .description("one tunnel: local phase, api state, interface and user")
    .argument("<id>", "tunnel id", tunnelIdArg)
    .option("--json", "print as JSON")
    .action(withContext(async (ctx, id: string) => status(ctx, { id })));

  program
    .command("gc")
    .description(
      "stop expired or ended tunnels; remove interfaces, users and sudoers files no tunnel owns",
    )
    .option("--json", "print as JSON")
    .action(withContext(async (ctx) => gc(ctx)));

  try {
    await program.parseAsync([...argv], { from: "user" });
    return ExitCode.Ok;
  } catch (err) {
    return exitCodeFor(err, streams);
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}

function exitCodeFor(err: unknown, streams: OutputStreams): number {
  if (err instanceof CommanderError) {
    // Help and version are not errors; commander has already printed everything.
    if (
      err.code === "commander.helpDisplayed" ||
      err.code === "commander.help" ||
      err.code === "commander.version"
    ) {
      return ExitCode.Ok;
    }
    return ExitCode.Usage;
  }
  const message = err instanceof Error ? err.message : String(err);
  streams.stderr.write(`support-device: ${message}\n`);
  if (err instanceof DeviceError) return err.exitCode;
  // The api no longer knows the tunnel, or its token expired with it: it is over.
  if (err instanceof ApiError && (err.status === 404 || err.status === 401))
    return ExitCode.Conflict;
  if (err instanceof ApiUnreachableError) return ExitCode.Unreachable;
  return ExitCode.Failure;
}
