// What the support account may do, rendered: its sudoers file and its
// authorized_keys line. Pure, so the rules that make every session go through the
// session program, and through sudo's I/O log, are tested as text.
import { iologDirOf } from "./layout";

/** The support account's login shell: the session program runs commands and shells with it. */
export const SUPPORT_SHELL = "/bin/bash";
export const SUDO = "/usr/bin/sudo";
/** First line of every sudoers file the device writes: gc removes only files that carry it. */
export const SUDOERS_HEADER = "# support-tunnel:";

/**
 * A path that goes into a sudoers file, an authorized_keys `command=` and a shell
 * command line unquoted: only characters none of the three gives a meaning to.
 */
const SAFE_PATH = /^\/[A-Za-z0-9._+/-]*$/;

export function isSafePath(p: string): boolean {
  return SAFE_PATH.test(p) && !p.split("/").includes("..");
}

function requireSafePath(p: string, what: string): string {
  if (!isSafePath(p))
    throw new Error(
      `${what} ${JSON.stringify(p)} must be an absolute path of letters, digits and ._+-/`,
    );
  return p;
}

export interface SudoersOptions {
  supportUser: string;
  tunnelId: string;
  logDir: string;
  /** Whom the account is for (engineer, ticket), one line, in the file's comment. */
  note?: string;
}

/**
 * The support account's sudoers file. It may do anything as root, as before;
 * and root (the session program) may run commands as it, which is how every
 * session starts. `Defaults>user` scopes the I/O log to commands run AS the
 * support account: exactly the sessions the session program starts, and not the
 * `sudo -n -- CMD` an engineer runs inside one, whose input and output the
 * session's own log already holds.
 */
export function renderSudoers({ supportUser, tunnelId, logDir, note }: SudoersOptions): string {
  const iologDir = requireSafePath(iologDirOf(logDir, tunnelId), "log dir");
  // The note is a comment: a line break in it would be a sudoers rule.
  if (note !== undefined && /[\r\n]/.test(note)) throw new Error("a sudoers note must be one line");
  return [
    `${SUDOERS_HEADER} ephemeral support user of tunnel ${tunnelId}, removed when the tunnel stops${note ? `: ${note}` : ""}`,
    `${supportUser} ALL=(ALL) NOPASSWD: ALL`,
    `root ALL=(${supportUser}) NOPASSWD: ALL`,
    // iolog_flush: what was typed and shown is on disk at once, even if the device crashes mid-session.
    `Defaults>${supportUser} log_input, log_output, iolog_flush, iolog_dir="${iologDir}", iolog_file="%{seq}"`,
    "",
  ].join("\n");
}

export interface SessionProgramCommand {
  /** Absolute path of the node binary that runs the session program. */
  node: string;
  /** Absolute path of the session program (device/dist/session-program.js), root-owned. */
  script: string;
  tunnelId: string;
  logDir: string;
  /** Where the tunnel's state is: the session program reads the api and token there to report the session. */
  stateDir?: string;
}

/**
 * The authorized_keys `command=`: whatever the engineer asked for (kept by sshd
 * in SSH_ORIGINAL_COMMAND, passed on by sudo), the session program runs instead,
 * as root, and runs the request itself through sudo's I/O log.
 */
export function forcedCommand({
  node,
  script,
  tunnelId,
  logDir,
  stateDir,
}: SessionProgramCommand): string {
  if (!/^[0-9a-f-]{36}$/.test(tunnelId)) throw new Error(`not a tunnel id: ${tunnelId}`);
  return [
    SUDO,
    "-n",
    "--preserve-env=SSH_ORIGINAL_COMMAND,SSH_CONNECTION",
    "--",
    requireSafePath(node, "node"),
    requireSafePath(script, "session program"),
    "--tunnel",
    tunnelId,
    "--log-dir",
    requireSafePath(logDir, "log dir"),
    ...(stateDir !== undefined ? ["--state-dir", requireSafePath(stateDir, "state dir")] : []),
  ].join(" ");
}

export interface AuthorizedKeyOptions {
  /** The tunnel server's address: the only place the key is accepted from. */
  from: string;
  sshPublicKey: string;
  command: string;
  /** Device ports the customer lets support forward to (on 127.0.0.1); none: no forwarding at all. */
  allowedPorts?: readonly number[];
}

/**
 * What the key may forward. With no port allowed, `no-port-forwarding`: in
 * OpenSSH it beats any permitopen, so nothing at all is forwarded. With ports,
 * forwarding is on but `permitopen` lets a forward reach only 127.0.0.1 on those
 * ports (any other target is refused "administratively prohibited"), and
 * `permitlisten` allows remote listening only on port 1, which an account that is
 * not root cannot bind: no `ssh -R` either.
 */
export function forwardingOptions(allowedPorts: readonly number[]): string[] {
  if (allowedPorts.length === 0) return ["no-port-forwarding"];
  for (const port of allowedPorts)
    if (!Number.isInteger(port) || port < 1 || port > 65535 || port === 22)
      throw new Error(`not an allowed port: ${port}`);
  return [
    ...[...new Set(allowedPorts)].sort((a, b) => a - b).map((p) => `permitopen="127.0.0.1:${p}"`),
    `permitlisten="127.0.0.1:1"`,
  ];
}

/**
 * from= pins the key to the server's tunnel address; no agent or X11 forwarding,
 * port forwarding only to the ports the customer allowed; command= sends every
 * session, whatever it asks for, through the session program.
 */
export function authorizedKeysLine({
  from,
  sshPublicKey,
  command,
  allowedPorts = [],
}: AuthorizedKeyOptions): string {
  if (/["\\\r\n]/.test(command) || /["\r\n]/.test(from))
    throw new Error("an authorized_keys option must not contain quotes or newlines");
  return [
    `from="${from}"`,
    "no-agent-forwarding",
    "no-X11-forwarding",
    ...forwardingOptions(allowedPorts),
    "no-user-rc",
    `command="${command}" ${sshPublicKey}`,
  ].join(",");
}
