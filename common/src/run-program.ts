// Running a program the way every part does it: an argument vector, no shell, a
// time limit, stdin given or empty, output captured as text. node's own spawn,
// not execa: execa 9 is ESM with a graph of ~100 modules, 0.1–0.2 s to load on a
// small machine, and `support create` runs programs on the way to a shell
// (ssh-keygen, ssh, the lab's ip and nsenter) where that load was the wait.
import { spawn } from "node:child_process";

export interface ProgramOptions {
  /** What the program reads on stdin; without it, stdin is empty. */
  input?: string;
  /** Sent SIGTERM after this long, SIGKILL 2 s later; default: no limit. */
  timeoutMs?: number;
  /** Its whole environment; default: this process's. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** In a session of its own (setsid), for what must outlive a closing terminal. */
  detached?: boolean;
  /**
   * "ignore": stdout and stderr go nowhere, for a program that leaves something in
   * the background holding them (`ssh -f`), which capturing would wait for.
   */
  output?: "capture" | "ignore";
}

export interface ProgramResult {
  /** What it wrote, without the final newline. */
  stdout: string;
  stderr: string;
  /** null when it was killed by a signal or could not be started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Why it could not be started (ENOENT, EACCES), when it could not. */
  startError: Error | null;
}

const KILL_AFTER_TERM_MS = 2000;

function withoutFinalNewline(text: string): string {
  return text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** Runs `file` with `args` and waits for it to end; never rejects: the result says how it went. */
export function runProgram(
  file: string,
  args: readonly string[],
  options: ProgramOptions = {},
): Promise<ProgramResult> {
  return new Promise((resolve) => {
    const capture = options.output !== "ignore";
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      detached: options.detached ?? false,
      stdio: [
        options.input === undefined ? "ignore" : "pipe",
        capture ? "pipe" : "ignore",
        capture ? "pipe" : "ignore",
      ],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    if (child.stdin) {
      // A program that exits without reading all of its input: the rest is dropped.
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.input);
    }
    let timedOut = false;
    let killer: NodeJS.Timeout | undefined;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGTERM");
            killer = setTimeout(() => child.kill("SIGKILL"), KILL_AFTER_TERM_MS);
          }, options.timeoutMs);
    let startError: Error | null = null;
    child.once("error", (err) => (startError = err));
    // "close", not "exit": every byte of its output is in by then.
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({
        stdout: withoutFinalNewline(Buffer.concat(stdout).toString("utf8")),
        stderr: withoutFinalNewline(Buffer.concat(stderr).toString("utf8")),
        exitCode: startError ? null : code,
        signal: startError ? null : signal,
        timedOut,
        startError,
      });
    });
  });
}
