// Commands and flags of `support-device`, and nothing else: main.ts runs them.
import { join } from "node:path";
// Only commander and common's exit codes load up front: a command's module (and
// the schemas, adapters and execa behind it) loads when that command runs, so
// `--help` costs little more than starting node.
/* eslint-disable @typescript-eslint/no-require-imports */
import { ExitCode, exitCodesHelp } from "@support-tunnel/common/dist/exit-codes";
import { packageVersion } from "@support-tunnel/common/dist/display";
import { oneLineUsageErrors } from "@support-tunnel/common/dist/usage-errors";
import { Command, InvalidArgumentError, Option } from "commander";
import type { CommandContext } from "./context";
import type { OutputStreams } from "./printer";

const load = {
  common: () => require("@support-tunnel/common") as typeof import("@support-tunnel/common"),
  config: () => require("./config") as typeof import("./config"),
  listenAddress: () => require("./ui/listen-address") as typeof import("./ui/listen-address"),
  agent: () => require("./commands/agent") as typeof import("./commands/agent"),
  connect: () => require("./commands/connect") as typeof import("./commands/connect"),
  gc: () => require("./commands/gc") as typeof import("./commands/gc"),
  list: () => require("./commands/list") as typeof import("./commands/list"),
  log: () => require("./commands/log") as typeof import("./commands/log"),
  replay: () => require("./commands/replay") as typeof import("./commands/replay"),
  request: () => require("./commands/request") as typeof import("./commands/request"),
  sessions: () => require("./commands/sessions") as typeof import("./commands/sessions"),
  status: () => require("./commands/status") as typeof import("./commands/status"),
  stop: () => require("./commands/stop") as typeof import("./commands/stop"),
  ui: () => require("./commands/ui") as typeof import("./commands/ui"),
};

const EXIT_CODES_HELP = `
${exitCodesHelp([
  ExitCode.Ok,
  ExitCode.Failure,
  ExitCode.Usage,
  ExitCode.Refused,
  ExitCode.Conflict,
  ExitCode.NotFound,
  ExitCode.Unreachable,
])}

Environment: SUPPORT_API_URL, SUPPORT_STATE_DIR, SUPPORT_LOG_DIR, SUPPORT_DEVICE_CONFIG.
Config file (root-owned, not writable by group/others): /etc/support-tunnel/device.json`;

/** The tunnel id as a UUID (any case) or as the code `request` prints. */
function tunnelIdArg(value: string): string {
  const wanted = "must be a tunnel id: its UUID or the code `request` printed";
  let parsed;
  try {
    parsed = load.common().parseTunnelIdInput(value);
  } catch (err) {
    // A code with a misheard symbol says so; anything else is not an id at all.
    throw new InvalidArgumentError(
      err instanceof load.common().CodeError && /check symbol/.test(err.message)
        ? err.message
        : wanted,
    );
  }
  if (parsed.kind !== "id") throw new InvalidArgumentError(wanted);
  return parsed.id;
}

function sessionArg(value: string): string {
  if (!/^[0-9a-f]{4,12}$/.test(value))
    throw new InvalidArgumentError("must be a session id (12 hex digits, or at least the first 4)");
  return value;
}

function positiveNumberArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a number above 0");
  return n;
}

function durationArg(value: string): number {
  let seconds: number;
  try {
    seconds = load.config().parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  const checked = load.common().ttlSecondsSchema.safeParse(seconds);
  if (!checked.success) throw new InvalidArgumentError(checked.error.issues[0]!.message);
  return seconds;
}

function listenArg(value: string): string {
  try {
    load.listenAddress().parseListenAddress(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return value;
}

const LISTEN_HELP =
  "address:port for the consent page (default: ui.listen in the config, else 127.0.0.1:7480); beyond loopback it needs ui.passwordHash in the config";
function ticketArg(value: string): string {
  const parsed = load.common().ticketSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]!.message);
  return parsed.data;
}

/** `--engineer` may be given again and again: each adds one name. */
function engineerArg(value: string, previous: string[] = []): string[] {
  const parsed = load.common().engineerNameSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]!.message);
  if (previous.includes(parsed.data)) throw new InvalidArgumentError(`${value} is named twice`);
  return [...previous, parsed.data];
}

/** `--allow-port` may be given again and again: each adds one device port. */
function allowPortArg(value: string, previous: number[] = []): number[] {
  const port = /^[0-9]{1,5}$/.test(value) ? Number(value) : Number.NaN;
  const parsed = load.common().allowedPortSchema.safeParse(port);
  if (!parsed.success)
    throw new InvalidArgumentError(
      Number.isNaN(port) ? "must be a port number, 1 to 65535" : parsed.error.issues[0]!.message,
    );
  if (previous.includes(parsed.data)) throw new InvalidArgumentError(`${value} is named twice`);
  return [...previous, parsed.data];
}

/** Wraps a command so it runs with its context: settings, adapters, printer, signal. */
export type WithContext = <A extends unknown[]>(
  work: (ctx: CommandContext, ...args: A) => Promise<void>,
) => (...args: A) => Promise<void>;

/** The `support-device` program: every command, its flags and its help. */
export function buildCli(withContext: WithContext, streams: OutputStreams): Command {
  const program = new Command("support-device")
    .description("Ask for remote support from this device, and let support in once approved.")
    .version(packageVersion(join(__dirname, "..")), "-V, --version", "print the version")
    .option("--api <url>", "api URL (env SUPPORT_API_URL)")
    .option(
      "--state-dir <dir>",
      "local state directory (env SUPPORT_STATE_DIR, default /var/lib/support-tunnel)",
    )
    .option(
      "--config <file>",
      "config file (env SUPPORT_DEVICE_CONFIG, default /etc/support-tunnel/device.json)",
    )
    .option(
      "--log-dir <dir>",
      "session record directory (env SUPPORT_LOG_DIR, default /var/log/support-tunnel)",
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => streams.stdout.write(s),
      writeErr: (s) => streams.stderr.write(s),
    })
    .addHelpText("after", EXIT_CODES_HELP);

  program
    .command("request")
    .description("request support: prints the tunnel id and preshared key to send to support")
    .option("--description <text>", "what the problem is (shown to support)")
    .addOption(
      new Option(
        "--duration <time>",
        "how long support may stay, e.g. 90m, 2h (default: ttlSeconds in the config, else 2h); counted by this device's clock, and no api answer can extend it",
      ).argParser(durationArg),
    )
    .addOption(
      new Option("--ttl <seconds>", "same as --duration, in seconds").argParser(durationArg),
    )
    .option(
      "--start <time>",
      "access opens no earlier: 2026-11-24T14:00, 14:00 (the next 14:00 here) or +2h; the duration runs from then, and this device connects nothing before it",
    )
    .addOption(
      new Option(
        "--ticket <ref>",
        "the support case, e.g. ABC-123 (shown to support; the approval must name it)",
      ).argParser(ticketArg),
    )
    .addOption(
      new Option(
        "--engineer <name>",
        "only this support engineer may take it (repeat for more); an approval by anyone else is refused",
      ).argParser(engineerArg),
    )
    .addOption(
      new Option(
        "--allow-port <port>",
        "let support forward this device port, e.g. 80 for a web UI (repeat for more; default: none but SSH); enforced on this device",
      ).argParser(allowPortArg),
    )
    .option("--wait", "stay until support approves, connect, then exit leaving the tunnel up")
    .option(
      "--json",
      "print {tunnelId, presharedKey, expiresAt, notBefore, ticket, allowedEngineers, allowedPorts} as JSON",
    )
    .addHelpText("after", EXIT_CODES_HELP)
    .action(
      withContext(
        async (
          ctx,
          opts: {
            description?: string;
            duration?: number;
            ttl?: number;
            start?: string;
            ticket?: string;
            engineer?: string[];
            allowPort?: number[];
            wait?: boolean;
          },
        ) =>
          load.request().request(ctx, {
            description: opts.description,
            ttlSeconds: opts.duration ?? opts.ttl,
            start: opts.start,
            ticket: opts.ticket,
            allowedEngineers: opts.engineer,
            allowedPorts: opts.allowPort,
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
    .action(withContext(async (ctx, id: string) => load.connect().connect(ctx, { id })));

  program
    .command("agent")
    .description("run the agent: connect approved tunnels, enforce expiry, clean up after crashes")
    .option("--ui", "also serve the consent page (see `support-device ui`)")
    .addOption(new Option("--listen <address>", LISTEN_HELP).argParser(listenArg))
    .addHelpText(
      "after",
      `\nTunnels that are up stay up when the agent stops; \`stop --all\` removes them.${EXIT_CODES_HELP}`,
    )
    .action(
      withContext(async (ctx, opts: { ui?: boolean; listen?: string }) =>
        load.agent().agent(ctx, { ui: opts.ui, listen: opts.listen }),
      ),
    );

  program
    .command("ui")
    .description(
      "serve the local consent page: ask for support, see who is in, stop it (until Ctrl-C)",
    )
    .addOption(new Option("--listen <address>", LISTEN_HELP).argParser(listenArg))
    .option(
      "--hash-password",
      "read a password on stdin and print its hash for ui.passwordHash in the config file",
    )
    .addHelpText(
      "after",
      `\nA tunnel requested on the page connects once approved while this runs; the agent enforces expiry.${EXIT_CODES_HELP}`,
    )
    .action(
      withContext(async (ctx, opts: { listen?: string; hashPassword?: boolean }) =>
        load.ui().ui(ctx, { listen: opts.listen, hashPassword: opts.hashPassword }),
      ),
    );

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
        load.stop().stop(ctx, { id, all: opts.all, reason: opts.reason }),
      ),
    );

  program
    .command("list")
    .description("tunnels on this device (local state)")
    .option("--json", "print as JSON")
    .action(withContext(async (ctx) => load.list().list(ctx)));

  program
    .command("status")
    .description("one tunnel: local phase, api state, interface and user")
    .argument("<id>", "tunnel id", tunnelIdArg)
    .option("--json", "print as JSON")
    .action(withContext(async (ctx, id: string) => load.status().status(ctx, { id })));

  program
    .command("log")
    .description(
      "what happened to a tunnel on this device: requested, approved, connected, every session (command and exit, or shell and times), stopped",
    )
    .argument("[id]", "tunnel id (default: every tunnel recorded)", tunnelIdArg)
    .option("--json", "print the events as JSON")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(withContext(async (ctx, id: string | undefined) => load.log().log(ctx, { id })));

  program
    .command("sessions")
    .description("support's sessions on this device: id, tunnel, who, start, end, exit, command")
    .argument("[id]", "tunnel id (default: every tunnel recorded)", tunnelIdArg)
    .option("--json", "print as JSON")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(
      withContext(async (ctx, id: string | undefined) => load.sessions().sessions(ctx, { id })),
    );

  program
    .command("replay")
    .description(
      "play a session back as it was shown (from sudo's I/O log), or export it as asciicast v2",
    )
    .argument("<session>", "session id (from `sessions`), or a unique start of it", sessionArg)
    .addOption(
      new Option("--speed <n>", "play n times as fast").argParser(positiveNumberArg).default(1),
    )
    .addOption(
      new Option("--max-wait <seconds>", "longest pause between two outputs").argParser(
        positiveNumberArg,
      ),
    )
    .option(
      "--cast",
      "print the session as asciicast v2 (for `asciinema play`) instead of playing it",
    )
    .addHelpText("after", EXIT_CODES_HELP)
    .action(
      withContext(
        async (ctx, session: string, opts: { speed: number; maxWait?: number; cast?: boolean }) =>
          load
            .replay()
            .replay(ctx, { session, speed: opts.speed, maxWaitS: opts.maxWait, cast: opts.cast }),
      ),
    );

  program
    .command("gc")
    .description(
      "stop expired or ended tunnels; remove interfaces, users and sudoers files no tunnel owns, and session records past their retention",
    )
    .option("--json", "print as JSON")
    .action(withContext(async (ctx) => load.gc().gc(ctx)));

  oneLineUsageErrors(program, "support-device: ");
  return program;
}
