// Errors the commands throw, and the one handler that turns any error into a
// message and an exit code from common's table (shared with `support-device`).
import {
  ApiError,
  ApiUnreachableError,
  ExitCode,
  ValidationError,
  type Printer,
} from "@support-tunnel/common";
import { CommanderError } from "commander";

export { ExitCode };

/** An error meant for the user: its message is printed as is, with the exit code given. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.Failure,
  ) {
    super(message);
  }
}

/** Not an error: the command finished and wants this exit code (e.g. the remote command's). */
export class ExitWith extends Error {
  override name = "ExitWith";
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** The one error handler: a message on stderr and the exit code from common's table. */
export function exitCodeFor(err: unknown, printer: Printer): number {
  if (err instanceof ExitWith) return err.exitCode;
  if (err instanceof CommanderError) {
    // Help and version are not errors; commander has already printed everything.
    if (
      err.code === "commander.helpDisplayed" ||
      err.code === "commander.help" ||
      err.code === "commander.version"
    )
      return ExitCode.Ok;
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
