// The session program's rules: every SSH session of a support account (sshd runs
// the program, as root through sudo, by the `command=` of the account's only key)
// is journaled as it opens, run AS the account through sudo, whose sudoers
// `Defaults>account` turn on its I/O log, and journaled again with its exit when
// it ends. What the engineer asked for runs as sshd would have run it (`bash -c
// "$SSH_ORIGINAL_COMMAND"`, or a login shell), so argv, exit codes and the
// terminal reach them unchanged. Side effects come in through `SessionRunnerDeps`.
import * as path from "node:path";
// wire-check, not common's zod schemas: the same rules, without loading zod on
// the way to every session's command (zod is most of this program's start).
import {
  supportUser as checkSupportUser,
  tunnelId as checkTunnelId,
  type Check,
} from "@support-tunnel/common/dist/wire-check";
import type { Journal } from "../adapters/ports";
import { isSafePath, SUDO, SUPPORT_SHELL } from "./access";
import {
  recognizeTransfer,
  ScpStreamReader,
  scpPlace,
  SftpLogReader,
  type MovedFile,
  type TransferRequest,
  type TransferTool,
} from "./file-transfer";
import { sessionKind } from "./command-text";
import { stampEvent, type NewJournalEvent } from "./journal";
import { iologDirOf, sessionMarker } from "./layout";

export interface SessionInput {
  tunnelId: string;
  logDir: string;
  /** The device's state dir, to report the session to the api; null: not reported. */
  stateDir: string | null;
  /** The account the session belongs to: the one that ran sudo (SUDO_USER). */
  supportUser: string;
  /** SSH_ORIGINAL_COMMAND: what the session asked for; null when it asked for a shell. */
  command: string | null;
  /** Whether the session has a terminal (`ssh -t`). */
  pty: boolean;
  /** The SSH client's address, from SSH_CONNECTION. */
  from: string | null;
}

export class SessionRefusedError extends Error {
  override name = "SessionRefusedError";
}

/** The value if `check` accepts it, else null. */
function accepted<T>(check: Check<T>, value: unknown): T | null {
  try {
    return check(value, "value");
  } catch {
    return null;
  }
}

/**
 * The session from the program's argv (`--tunnel ID --log-dir DIR [--state-dir DIR]`,
 * fixed in the root-owned authorized_keys) and what sshd and sudo put in its environment.
 */
export function sessionInputFrom(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  pty: boolean,
): SessionInput {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    if (
      !["--tunnel", "--log-dir", "--state-dir"].includes(flag) ||
      value === undefined ||
      flags.has(flag)
    )
      throw new SessionRefusedError(
        `usage: session-program --tunnel ID --log-dir DIR [--state-dir DIR]`,
      );
    flags.set(flag, value);
  }
  const tunnelId = accepted(checkTunnelId, flags.get("--tunnel"));
  if (tunnelId === null) throw new SessionRefusedError("--tunnel must be a tunnel id");
  const logDir = flags.get("--log-dir");
  if (logDir === undefined || !isSafePath(logDir))
    throw new SessionRefusedError("--log-dir must be an absolute path");
  const stateDir = flags.get("--state-dir") ?? null;
  if (stateDir !== null && !isSafePath(stateDir))
    throw new SessionRefusedError("--state-dir must be an absolute path");
  // sudo sets SUDO_USER to whoever ran it: the account the session logged in as.
  const user = accepted(checkSupportUser, env.SUDO_USER);
  if (user === null)
    throw new SessionRefusedError("must be run through sudo by a support account (SUDO_USER)");
  const client = env.SSH_CONNECTION?.trim().split(/\s+/)[0];
  return {
    tunnelId,
    logDir,
    stateDir,
    supportUser: user,
    command: env.SSH_ORIGINAL_COMMAND ?? null,
    pty,
    from: client ? client : null,
  };
}

/**
 * sudo, run by root, runs the session as the account: `Defaults>account` records
 * it. The marker in the recorded command line ties the I/O log to the session.
 */
export function sudoArgv(input: SessionInput, session: string): string[] {
  return [
    SUDO,
    "-n",
    "-u",
    input.supportUser,
    "--",
    "/usr/bin/env",
    sessionMarker(session),
    SUPPORT_SHELL,
    ...(input.command === null ? ["-l"] : ["-c", input.command]),
  ];
}

export interface ChildOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Bytes the command wrote to stdout, when asked to count them. */
  outputBytes?: number;
}

/** How to run a session's command. */
export interface RunOptions {
  /** Count what it writes to stdout (a collection: the customer is told its size). */
  countOutput: boolean;
}

/** What flows through a file transfer: each tap sees the bytes of its stream. */
export interface TransferTaps {
  stdin?(chunk: Buffer): void;
  stdout?(chunk: Buffer): void;
  /** When given, the program's stderr goes here and not to the session (sftp-server's log). */
  stderr?(chunk: Buffer): void;
}

/** How the session program runs sftp, scp and rsync: the device's own binaries, as root. */
export interface TransferDeps {
  /** The device's binary for a tool (never one the request names); null when it has none. */
  program(tool: TransferTool): string | null;
  isDirectory(path: string): boolean;
  /** Runs argv on the session's stdin and stdout through the taps; resolves when it ends. */
  runPiped(argv: readonly string[], taps: TransferTaps): Promise<ChildOutcome>;
}

/** Files listed one by one per session; past it, one summary line (a recursive copy of a tree). */
const LISTED_FILES = 50;

export interface SessionRunnerDeps {
  now(): number;
  random(n: number): Uint8Array;
  journal: Pick<Journal, "append" | "approvedEngineer" | "iologDir">;
  /** Runs argv on the session's own stdin, stdout, stderr and terminal; resolves when it ends. */
  run(argv: readonly string[], options: RunOptions): Promise<ChildOutcome>;
  /** A line on the session's stderr. */
  warn(message: string): void;
  /**
   * Tells the api the session opened, or closed (who, when, exit code; no content).
   * Best effort and bounded in time: the journal is the record, the api is told.
   */
  report?(session: SessionReport): Promise<void>;
  /** Runs sftp, scp and rsync as root and lists their files; without it they run as commands. */
  transfer?: TransferDeps;
}

/** What the api is told of a session: never its command or what it showed. */
export interface SessionReport {
  session: string;
  engineer: string | null;
  startedAt: string;
  endedAt: string | null;
  exitCode: number | null;
}

/**
 * Journals the session, runs it, journals its end. Throws SessionRefusedError,
 * running nothing, when the session cannot be journaled: nothing reaches the
 * device unrecorded.
 */
export async function runSession(
  deps: SessionRunnerDeps,
  input: SessionInput,
): Promise<ChildOutcome> {
  const session = Buffer.from(deps.random(6)).toString("hex");
  const journal = async (event: NewJournalEvent) =>
    deps.journal.append(stampEvent(event, deps.now()));
  // The engineer, when the approval named one: the session is theirs.
  const engineer = await deps.journal.approvedEngineer(input.tunnelId).catch(() => null);
  const started = deps.now();
  const report = (end: { endedAt: string; exitCode: number | null } | null) =>
    deps
      .report?.({
        session,
        engineer,
        startedAt: new Date(started).toISOString(),
        endedAt: end?.endedAt ?? null,
        exitCode: end?.exitCode ?? null,
      })
      // Never in the session's way: a report that fails is made good by the close's.
      .catch(() => undefined);
  try {
    await journal({
      type: "session-opened",
      tunnelId: input.tunnelId,
      session,
      supportUser: input.supportUser,
      engineer,
      command: input.command,
      pty: input.pty,
      from: input.from,
    });
  } catch (err) {
    throw new SessionRefusedError(
      `this session cannot be recorded (${(err as Error).message}); it was not started`,
    );
  }
  // Sent while the session runs: who is in shows at once, and the session waits for nothing.
  const opened = report(null);
  const transfer = deps.transfer ? recognizeTransfer(input.command) : null;
  let moved: MovedFile[] = [];
  let outcome: ChildOutcome;
  if (transfer && deps.transfer) {
    ({ outcome, moved } = await runTransfer(deps.transfer, transfer, deps.warn));
  } else {
    outcome = await deps.run(sudoArgv(input, session), {
      countOutput: sessionKind(input.command) === "collect",
    });
  }
  const ended = deps.now();
  if (transfer) {
    try {
      for (const event of transferEvents(input.tunnelId, session, transfer.tool, moved))
        await journal(event);
    } catch (err) {
      deps.warn(`could not record the files of session ${session}: ${(err as Error).message}`);
    }
  }
  let iolog: string | null = null;
  try {
    const dir = await deps.journal.iologDir(input.tunnelId, session, null);
    if (dir) iolog = path.relative(iologDirOf(input.logDir, input.tunnelId), dir);
  } catch (err) {
    deps.warn(`could not find the I/O log of session ${session}: ${(err as Error).message}`);
  }
  try {
    await journal({
      type: "session-closed",
      tunnelId: input.tunnelId,
      session,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      durationMs: Math.max(0, ended - started),
      iolog,
      ...(outcome.outputBytes !== undefined ? { outputBytes: outcome.outputBytes } : {}),
    });
  } catch (err) {
    deps.warn(`could not record the end of session ${session}: ${(err as Error).message}`);
  }
  // The whole session again, after its open: one lost report leaves no session open on the api.
  await opened;
  await report({ endedAt: new Date(ended).toISOString(), exitCode: outcome.exitCode });
  return outcome;
}

/**
 * sudo as root, not as the account: copies reach root-owned places, and a file's
 * bytes stay out of the I/O log (the journal lists the files instead). The
 * program is the device's own; only the request's arguments are passed on.
 */
export function transferArgv(program: string, request: TransferRequest): string[] {
  const args =
    request.tool === "sftp"
      ? // -e: the log on stderr, read here; -l INFO: each file's open and close.
        ["-e", "-l", "INFO"]
      : request.args;
  return [SUDO, "-n", "-u", "root", "--", program, ...args];
}

async function runTransfer(
  deps: TransferDeps,
  request: TransferRequest,
  warn: (message: string) => void,
): Promise<{ outcome: ChildOutcome; moved: MovedFile[] }> {
  const program = deps.program(request.tool);
  if (program === null) {
    warn(`${request.tool} is not installed on this device`);
    return { outcome: { exitCode: 127, signal: null }, moved: [] };
  }
  const argv = transferArgv(program, request);
  switch (request.tool) {
    case "sftp": {
      const log = new SftpLogReader();
      const outcome = await deps.runPiped(argv, { stderr: (c) => log.feed(c.toString("utf8")) });
      log.end();
      return { outcome, moved: log.files };
    }
    case "scp": {
      const place = scpPlace(
        request,
        request.direction === "upload" && deps.isDirectory(request.target),
      );
      const reader = new ScpStreamReader(request.direction, place);
      const tap = (c: Buffer) => reader.feed(c);
      const outcome = await deps.runPiped(
        argv,
        request.direction === "upload" ? { stdin: tap } : { stdout: tap },
      );
      return { outcome, moved: reader.files };
    }
    case "rsync": {
      // rsync's own protocol is not read here: the bytes that went the file's way.
      let bytes = 0;
      const tap = (c: Buffer) => {
        bytes += c.length;
      };
      const outcome = await deps.runPiped(
        argv,
        request.direction === "upload" ? { stdin: tap } : { stdout: tap },
      );
      return {
        outcome,
        moved: [{ direction: request.direction, path: request.paths[0]!, bytes }],
      };
    }
  }
}

/** The journal events of a transfer's files: the first ones each, the rest summed up. */
export function transferEvents(
  tunnelId: string,
  session: string,
  tool: TransferTool,
  moved: readonly MovedFile[],
): NewJournalEvent[] {
  const event = (file: MovedFile, files?: number): NewJournalEvent => ({
    type: "file-transfer",
    tunnelId,
    session,
    tool,
    direction: file.direction,
    path: file.path,
    bytes: file.bytes,
    ...(files !== undefined ? { files } : {}),
  });
  const events = moved.slice(0, LISTED_FILES).map((f) => event(f));
  const rest = moved.slice(LISTED_FILES);
  if (rest.length > 0) {
    const bytes = rest.reduce((sum, f) => sum + f.bytes, 0);
    const last = rest[rest.length - 1]!;
    events.push(
      event({ direction: last.direction, path: path.posix.dirname(last.path), bytes }, rest.length),
    );
  }
  return events;
}
