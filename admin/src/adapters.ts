// Real side effects the commands are handed: reading secrets, pinning host keys
// (the server's here, the device's on the server), running the system ssh client.
import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { runProgram } from "@support-tunnel/common/dist/run-program";
import writeFileAtomic from "write-file-atomic";
import { CliError, ExitCode } from "./errors";
import type { TunnelServer } from "./providers/provider";
import type { ServerRecord } from "./server-records";
import { HOP_GATE_LINE, throughServerArgs, type DeviceHop } from "./ssh/system-ssh";

/** known_hosts host pattern: OpenSSH writes `[host]:port` for a port other than 22. */
export function knownHostsLine(host: string, port: number, hostKey: string): string {
  const pattern = port === 22 ? host : `[${host}]:${port}`;
  return `${pattern} ${hostKey.trim().split(/\s+/).slice(0, 2).join(" ")}\n`;
}

export async function pinHostKey(path: string, server: TunnelServer): Promise<void> {
  if (!server.ssh.hostKey) {
    throw new Error(
      `provider ${server.provider} did not report the host key of ${server.instanceId}`,
    );
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(
    path,
    knownHostsLine(server.ssh.host, server.ssh.port, server.ssh.hostKey),
    { mode: 0o600 },
  );
}

/**
 * The first hop to the device (create, once it reports it is up): authenticates
 * as the support user, accepting the device's host key into the tunnel's empty
 * known_hosts on the server, under the tunnel's alias, and stays on the server
 * as the device hop's master, running nothing on the device. With `controlPath`,
 * the connection to the server stays open for the commands that follow too.
 */
export async function pinDeviceHostKey(
  record: ServerRecord,
  hop: DeviceHop,
  controlPath?: string,
): Promise<void> {
  const args = throughServerArgs(record.server.ssh, record.knownHostsPath, hop, [], false, {
    firstContact: true,
    controlPath,
  });
  const result = await runProgram("ssh", args, { timeoutMs: 60_000 });
  if (result.exitCode !== 0) {
    const said = result.startError?.message ?? result.stderr;
    const detail = said.trim().split("\n").slice(-3).join(" / ");
    throw new Error(
      `could not reach the device over the tunnel to pin its SSH host key (ssh exit ${result.exitCode ?? "?"})${detail ? `: ${detail}` : ""}`,
    );
  }
}

/**
 * `ssh` with the terminal handed over; interactive sessions and streamed commands
 * have no time limit. node's own spawn, not execa: nothing is captured, and a
 * command to the device then does not wait for execa's module graph to load.
 */
export function runSystemSsh(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", args, { stdio: "inherit" });
    child.once("error", (err) =>
      reject(new CliError(`could not run ssh: ${err.message}`, ExitCode.Failure)),
    );
    child.once("exit", (code, signal) => {
      if (code !== null) resolve(code);
      else reject(new CliError(`ssh was killed by ${signal ?? "a signal"}`, ExitCode.Failure));
    });
  });
}

/** An `ssh` started ahead of the api's answer, its hop to the device held at the gate. */
export interface GatedSsh {
  /** Lets the hop go, passes this process's stdin on after the gate; resolves with ssh's exit code. */
  open(): Promise<number>;
  /** Ends ssh's stdin without the gate line: nothing runs on the device. */
  cancel(): void;
}

/**
 * `ssh` with a gated hop (throughServerArgs `gated`): stdout and stderr are the
 * terminal's, stdin a pipe that carries the gate line, then this process's stdin.
 * If this process dies first, the pipe closes and the server runs nothing.
 */
export function startGatedSsh(args: string[]): GatedSsh {
  const child = spawn("ssh", args, { stdio: ["pipe", "inherit", "inherit"] });
  const input = child.stdin;
  // ssh may end before its stdin does (the command read none of it): dropped.
  input.on("error", () => undefined);
  const exit = new Promise<number>((resolve, reject) => {
    child.once("error", (err) =>
      reject(new CliError(`could not run ssh: ${err.message}`, ExitCode.Failure)),
    );
    child.once("exit", (code, signal) => {
      process.stdin.unpipe(input);
      if (code !== null) resolve(code);
      else reject(new CliError(`ssh was killed by ${signal ?? "a signal"}`, ExitCode.Failure));
    });
  });
  exit.catch(() => undefined); // taken by open(); a cancelled one is not waited for
  return {
    open: () => {
      input.write(`${HOP_GATE_LINE}\n`);
      process.stdin.pipe(input);
      return exit;
    },
    cancel: () => {
      input.end();
    },
  };
}

export async function readAllStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

export interface HiddenPromptOptions {
  /** Asked again, with this message, until it returns true. */
  validate?: (value: string) => true | string;
  /** Aborting it (Ctrl-C outside the prompt, e.g. SIGINT) interrupts the prompt. */
  signal?: AbortSignal;
  input?: NodeJS.ReadableStream & { isRaw?: boolean };
  output?: NodeJS.WritableStream;
}

/**
 * Reads a secret from the terminal without echoing it (@inquirer/password, on
 * stderr so stdout stays data). Line editing is readline's (Ctrl-U erases the
 * line); Ctrl-C interrupts (exit 130); Ctrl-D on an empty line gives up.
 */
export async function promptHidden(
  message: string,
  options: HiddenPromptOptions = {},
): Promise<string> {
  const input = options.input ?? process.stdin;
  // Loaded when asked: only `create` without --psk and `login` without --with-token prompt.
  const { default: password } = await import("@inquirer/password");
  const endOfInput = new AbortController();
  const answer = password(
    { message, mask: false, toggleMask: false, validate: options.validate },
    {
      input,
      output: options.output ?? process.stderr,
      signal: options.signal
        ? AbortSignal.any([options.signal, endOfInput.signal])
        : endOfInput.signal,
    },
  );
  // Ctrl-D on an empty line closes readline but leaves the prompt pending (it
  // only settles on Enter, Ctrl-C or its signal): seen as the terminal leaving
  // raw mode on that key (this listener runs after readline's), and made an abort.
  const onKeypress = (_: unknown, key?: { ctrl?: boolean; name?: string }) => {
    if (key?.ctrl && key.name === "d" && input.isRaw === false) endOfInput.abort();
  };
  input.on("keypress", onKeypress);
  try {
    return await answer;
  } catch (err) {
    if (endOfInput.signal.aborted)
      throw new CliError(`${message}: nothing entered`, ExitCode.Usage);
    const name = (err as Error).name;
    if (name === "ExitPromptError" || name === "AbortPromptError")
      throw new CliError("interrupted", ExitCode.Interrupted);
    throw err;
  } finally {
    input.off("keypress", onKeypress);
  }
}
