// One way to run a program: argv arrays, a timeout on every call, stdin empty.
// common's runProgram (node's spawn), not execa: execa's ESM graph was ~0.2 s of
// the jitless agent's bring-up of every tunnel, and megabytes while up.
import { runProgram } from "@support-tunnel/common/dist/run-program";

/** PATH with the sbin directories, where useradd, visudo and ip live. */
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface RunOptions {
  timeoutMs?: number;
  /** Exit codes that are not failures (e.g. "no such user"). */
  okExitCodes?: readonly number[];
  /**
   * In a session of its own (setsid), with no controlling terminal: for what must
   * outlive the command, such as the wireguard-go that wg-quick starts, which a
   * closing terminal's SIGHUP would otherwise kill.
   */
  detached?: boolean;
  /** Added to the environment. */
  env?: Record<string, string>;
  /** What the program reads on stdin (default: nothing). */
  input?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export async function run(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const result = await runProgram(file, args, {
    timeoutMs,
    input: options.input ?? "",
    detached: options.detached ?? false,
    env: { ...process.env, ...options.env, PATH: SYSTEM_PATH, LANG: "C" },
  });
  const out: RunResult = {
    stdout: result.stdout,
    stderr: result.stderr,
    exitCode: result.exitCode ?? -1,
  };
  const ok = out.exitCode === 0 || (options.okExitCodes ?? []).includes(out.exitCode);
  if (!ok || result.timedOut) {
    const why = result.timedOut
      ? `timed out after ${timeoutMs} ms`
      : result.startError
        ? `could not run: ${result.startError.message}`
        : result.signal
          ? `killed by ${result.signal}`
          : `exit ${out.exitCode}`;
    const detail = out.stderr.trim().split("\n").slice(-3).join(" | ");
    throw new CommandError(
      `${file} ${args.join(" ")}: ${why}${detail ? `: ${detail}` : ""}`,
      out.exitCode,
    );
  }
  return out;
}
