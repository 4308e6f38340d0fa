// Errors the CLI turns into a message and an exit code in one place (cli.ts).
// The codes are common's one table, shared with `support-device`.
import { ExitCode } from "@support-tunnel/common";

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
