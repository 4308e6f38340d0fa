// The exit codes of both CLIs, `support` and `support-device`: one table, so a
// number means the same thing whichever binary a script runs. Their help texts
// and the README's table are this table.

export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  Refused: 3,
  Conflict: 4,
  NotFound: 5,
  Unreachable: 6,
  Interrupted: 130,
  SshFailure: 255,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ExitCodeEntry {
  code: ExitCode;
  name: keyof typeof ExitCode;
  meaning: string;
}

export const EXIT_CODES: readonly ExitCodeEntry[] = [
  { code: 0, name: "Ok", meaning: "success" },
  { code: 1, name: "Failure", meaning: "failure" },
  {
    code: 2,
    name: "Usage",
    meaning:
      "usage error: a bad flag or argument (a tunnel code or PSK whose check symbol is wrong, a tunnel prefix that matches several tunnels), a missing api url, an invalid or unreadable config, `support-device` run as another user than root",
  },
  {
    code: 3,
    name: "Refused",
    meaning:
      "approval refused (tampered, wrong preshared key or wrong server key, or an engineer or ticket the customer did not choose; `support create` says so the moment the device reports it), or the engineer is not logged in, lacks the role the command needs, is not allowed by the customer, or the api refused the token, or an api answer disagrees with what `support create` recorded, or a device network overlaps the tunnel server's own; nothing was set up or run",
  },
  {
    code: 4,
    name: "Conflict",
    meaning:
      "the tunnel's state does not allow it: not pending (approved by someone else), not approved yet, not open yet (before the customer's start), or over (ended or expired)",
  },
  {
    code: 5,
    name: "NotFound",
    meaning: "no such tunnel, or no record of its server on this machine",
  },
  { code: 6, name: "Unreachable", meaning: "the api could not be reached" },
  { code: 130, name: "Interrupted", meaning: "interrupted (Ctrl-C); what was begun is undone" },
  {
    code: 255,
    name: "SshFailure",
    meaning: "ssh itself failed: the tunnel is down or was revoked",
  },
];

/** "Exit codes:" and one line per code, for a CLI's `--help`; only the codes that CLI uses. */
export function exitCodesHelp(codes: readonly ExitCode[]): string {
  const lines = EXIT_CODES.filter((e) => codes.includes(e.code)).map(
    (e) => `  ${String(e.code).padStart(3)}  ${e.meaning}`,
  );
  return ["Exit codes:", ...lines].join("\n");
}
