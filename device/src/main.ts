// The one top-level handler of `support-device`: builds each command's context,
// stops long-running commands on SIGTERM/SIGINT, and turns errors into exit codes.
// What a command needs (settings, adapters, the api client) loads when it runs.
/* eslint-disable @typescript-eslint/no-require-imports */
import { ExitCode } from "@support-tunnel/common/dist/exit-codes";
import { CommanderError, type Command } from "commander";
import { buildCli, type WithContext } from "./cli";
import type { DeviceSettings, GlobalFlags } from "./config";
import type { DeviceDeps } from "./context";
import type { OutputStreams } from "./printer";

const load = {
  common: () => require("@support-tunnel/common") as typeof import("@support-tunnel/common"),
  config: () => require("./config") as typeof import("./config"),
  context: () => require("./context") as typeof import("./context"),
  errors: () => require("./errors") as typeof import("./errors"),
  printer: () => require("./printer") as typeof import("./printer"),
};

export interface MainOptions {
  streams?: OutputStreams;
  env?: NodeJS.ProcessEnv;
  /** For tests: replaces the real adapters. */
  deps?: (settings: DeviceSettings, log: (message: string) => void) => DeviceDeps;
  signal?: AbortSignal;
  /** Whether this process is root; default: its uid is 0 (tests with fake adapters: yes). */
  isRoot?: () => boolean;
}

/**
 * Every command but `ui --hash-password` makes or reads root's users, interfaces and
 * 0700 state: without root it would fail later with EACCES, or half done.
 */
const NOT_ROOT =
  "this must run as root: it creates the support user and the WireGuard interface and keeps its state in root's directories; run it with sudo";

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
    // A terminal that closes (ssh, script) under `request --wait` or `ui`: stop
    // cleanly as for Ctrl-C; the tunnel, detached from the terminal, stays.
    process.on("SIGHUP", onSignal);
  }

  const withContext: WithContext =
    (work) =>
    async (...args) => {
      // commander passes the command itself last
      const cmd = args[args.length - 1] as Command;
      const flags = cmd.optsWithGlobals<GlobalFlags & { json?: boolean; hashPassword?: boolean }>();
      const isRoot = options.isRoot ?? (options.deps ? () => true : () => process.getuid?.() === 0);
      if (!isRoot() && !(cmd.name() === "ui" && flags.hashPassword)) {
        throw new (load.errors().UsageError)(NOT_ROOT);
      }
      const settings = await load.config().loadSettings(flags, options.env ?? process.env);
      const printer = load.printer().createPrinter({ json: flags.json === true, streams });
      const { contextFrom, realDeps } = load.context();
      const deps = (options.deps ?? realDeps)(settings, (m) => printer.info(m));
      await work(contextFrom(deps, printer, signal, streams.stdout), ...args);
    };

  try {
    await buildCli(withContext, streams).parseAsync([...argv], { from: "user" });
    return ExitCode.Ok;
  } catch (err) {
    return exitCodeFor(err, streams);
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    process.off("SIGHUP", onSignal);
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
  const { DeviceError } = load.errors();
  const { ApiError, ApiUnreachableError } = load.common();
  if (err instanceof DeviceError) return err.exitCode;
  // The api no longer knows the tunnel, or its token expired with it: it is over.
  if (err instanceof ApiError && (err.status === 404 || err.status === 401))
    return ExitCode.Conflict;
  if (err instanceof ApiUnreachableError) return ExitCode.Unreachable;
  return ExitCode.Failure;
}
