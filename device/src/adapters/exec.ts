// One way to run a program: argv arrays, a timeout on every call, stdin empty.
// execa is ESM with a large module graph: loaded on the first program run, so
// `--help` and the commands that run none do not pay for it.

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

let execaModule: Promise<typeof import("execa")> | undefined;

/**
 * Starts loading execa (a few hundred milliseconds on a small busy machine), so
 * that the first program of a tunnel's bring-up does not wait for it: the agent
 * runs none until then, and idles without it.
 */
export function prepareRun(): void {
  if (execaModule) return;
  execaModule = import("execa");
  execaModule.catch(() => undefined); // run() reports a failure to load, when it awaits it
}

export async function run(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  prepareRun();
  const { execa } = await execaModule!;
  const result = await execa(file, args, {
    timeout: options.timeoutMs ?? 30_000,
    input: options.input ?? "",
    reject: false,
    detached: options.detached ?? false,
    env: { ...options.env, PATH: SYSTEM_PATH, LANG: "C" },
    extendEnv: true,
    stripFinalNewline: true,
  });
  const out: RunResult = {
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
    exitCode: result.exitCode ?? -1,
  };
  const ok = out.exitCode === 0 || (options.okExitCodes ?? []).includes(out.exitCode);
  if (!ok || result.timedOut) {
    const why = result.timedOut
      ? `timed out after ${options.timeoutMs ?? 30_000} ms`
      : result.failed && result.exitCode === undefined
        ? (result.shortMessage ?? "could not run")
        : `exit ${out.exitCode}`;
    const detail = out.stderr.trim().split("\n").slice(-3).join(" | ");
    throw new CommandError(
      `${file} ${args.join(" ")}: ${why}${detail ? `: ${detail}` : ""}`,
      out.exitCode,
    );
  }
  return out;
}
