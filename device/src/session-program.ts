#!/usr/bin/env node
// The session program: what sshd runs, as root through sudo, for every SSH session
// of a support account (its key's `command=`), so nothing reaches the device
// outside the record. Wires the real journal and sudo to session-runner's rules,
// and ends as the session did: with its exit code, or killed by its signal.
import { spawn } from "node:child_process";
import { accessSync, constants as fsConstants, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { constants } from "node:os";
import { FileJournal } from "./adapters/journal-store";
import type { FileStateStore } from "./adapters/state-store";
import {
  runSession,
  sessionInputFrom,
  SessionRefusedError,
  type ChildOutcome,
  type RunOptions,
  type SessionInput,
  type SessionReport,
  type TransferDeps,
  type TransferTaps,
} from "./session-record/session-runner";
import type { TransferTool } from "./session-record/file-transfer";

/** At most this long per report: a slow api delays the end of a session by no more. */
const REPORT_TIMEOUT_MS = 3000;

/* eslint-disable @typescript-eslint/no-require-imports -- loaded only when a report is sent */
const loadStateStore = () =>
  require("./adapters/state-store") as typeof import("./adapters/state-store");
const loadApiClient = () => ({
  ...(require("@support-tunnel/common/dist/client") as typeof import("@support-tunnel/common/dist/client")),
  ...(require("@support-tunnel/common/dist/node-http-fetch") as typeof import("@support-tunnel/common/dist/node-http-fetch")),
});
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Reports to the api the tunnel's state names, with its device token; nothing
 * without a state dir. The state store (its lock and atomic-write modules) and
 * the api client load on the first report, after a turn of the event loop: the
 * session's command is spawned first, and nothing on its way in waits for what
 * only the report needs.
 */
function apiReporter(input: SessionInput): ((session: SessionReport) => Promise<void>) | undefined {
  const stateDir = input.stateDir;
  if (stateDir === null) return undefined;
  let record: ReturnType<FileStateStore["read"]> | undefined;
  const readRecord = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    const { FileStateStore } = loadStateStore();
    return new FileStateStore(stateDir).read(input.tunnelId);
  };
  return async (session) => {
    const found = await (record ??= readRecord());
    if (!found) return;
    const { nodeHttpFetch, SupportApiClient } = loadApiClient();
    const api = new SupportApiClient({
      baseUrl: found.apiUrl,
      token: found.deviceToken,
      timeoutMs: REPORT_TIMEOUT_MS,
      retries: 0,
      userAgent: "support-device-session/0.1",
      // node:http, not the global fetch (undici): the session ends when its report
      // is in, and loading undici for one request would hold it ~0.1 s longer.
      fetch: nodeHttpFetch,
    });
    await api.reportSession(session, { signal: AbortSignal.timeout(REPORT_TIMEOUT_MS) });
  };
}

/** The session's own terminal signals reach the command (it shares the terminal); this program waits for it. */
const PASSED_ON: NodeJS.Signals[] = ["SIGINT", "SIGQUIT", "SIGTERM", "SIGHUP"];

function runOnOurTerminal(argv: readonly string[], options: RunOptions): Promise<ChildOutcome> {
  if (options.countOutput) return runCountingOutput(argv);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (exitCode, signal) => resolve({ exitCode, signal }));
  });
}

/** Where Debian, Fedora, Arch and Alpine put each tool: the first executable one is run. */
const TRANSFER_PROGRAMS: Record<TransferTool, readonly string[]> = {
  sftp: [
    "/usr/lib/openssh/sftp-server",
    "/usr/libexec/openssh/sftp-server",
    "/usr/lib/ssh/sftp-server",
    "/usr/libexec/sftp-server",
  ],
  scp: ["/usr/bin/scp"],
  rsync: ["/usr/bin/rsync"],
};

/**
 * The transfer's program on the session's stdin and stdout, through pipes that
 * the taps read; it ends once its output is all passed on ('close', not 'exit').
 */
function runPiped(argv: readonly string[], taps: TransferTaps): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["pipe", "pipe", taps.stderr ? "pipe" : "inherit"],
    });
    child.once("error", reject);
    const [input, output] = [child.stdin!, child.stdout!];
    process.stdin.on("data", (chunk: Buffer) => {
      taps.stdin?.(chunk);
      if (!input.write(chunk)) {
        process.stdin.pause();
        input.once("drain", () => process.stdin.resume());
      }
    });
    process.stdin.once("end", () => input.end());
    // The program may end before the client stops sending: what is left is dropped.
    input.on("error", () => undefined);
    output.on("data", (chunk: Buffer) => {
      taps.stdout?.(chunk);
      process.stdout.write(chunk);
    });
    child.stderr?.on("data", (chunk: Buffer) => taps.stderr?.(chunk));
    child.once("close", (exitCode, signal) => {
      process.stdin.destroy();
      resolve({ exitCode, signal });
    });
  });
}

const transfers: TransferDeps = {
  program: (tool) =>
    TRANSFER_PROGRAMS[tool].find((p) => {
      try {
        accessSync(p, fsConstants.X_OK);
        return true;
      } catch {
        return false;
      }
    }) ?? null,
  isDirectory: (p) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  },
  runPiped,
};

/** As runOnOurTerminal, with stdout passed on through this program, counted. */
function runCountingOutput(argv: readonly string[]): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["inherit", "pipe", "inherit"] });
    let outputBytes = 0;
    child.stdout.on("data", (chunk: Buffer) => (outputBytes += chunk.length));
    child.stdout.pipe(process.stdout, { end: false });
    child.once("error", reject);
    // "close", not "exit": every byte of stdout is through by then.
    child.once("close", (exitCode, signal) => resolve({ exitCode, signal, outputBytes }));
  });
}

async function main(): Promise<ChildOutcome> {
  if (process.getuid?.() !== 0) throw new SessionRefusedError("must run as root (through sudo)");
  const input = sessionInputFrom(process.argv.slice(2), process.env, process.stdin.isTTY === true);
  for (const signal of PASSED_ON) process.on(signal, () => undefined);
  return runSession(
    {
      now: () => Date.now(),
      random: (n) => new Uint8Array(randomBytes(n)),
      journal: new FileJournal(input.logDir),
      run: runOnOurTerminal,
      warn: (message) => process.stderr.write(`support-tunnel: ${message}\n`),
      report: apiReporter(input),
      transfer: transfers,
    },
    input,
  );
}

main().then(
  ({ exitCode, signal }) => {
    if (signal) {
      // Die of the same signal, so sshd reports it as the session's end, as it would have.
      for (const s of PASSED_ON) process.removeAllListeners(s);
      process.kill(process.pid, signal);
      // A signal whose default is not to end a process: end as a shell reports it.
      process.exit(128 + constants.signals[signal]);
    }
    process.exit(exitCode ?? 1);
  },
  (err: unknown) => {
    const message = err instanceof SessionRefusedError ? err.message : String(err);
    process.stderr.write(`support-tunnel: ${message}\n`);
    process.exit(1);
  },
);
