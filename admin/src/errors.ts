// Errors the CLI turns into a message and an exit code in one place (cli.ts).

/** Exit codes the `support` binary uses; `command` also passes the remote code through. */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  /** Not logged in, or the api refused the token. */
  Auth: 3,
  /** The tunnel is not in a state that allows the action (e.g. someone else approved it). */
  Conflict: 4,
  NotFound: 5,
  /** The api could not be reached. */
  Unreachable: 6,
  /** Interrupted by Ctrl-C. */
  Interrupted: 130,
  /** ssh itself failed (not the remote command). */
  SshFailure: 255,
} as const;

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
