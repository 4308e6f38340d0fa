// The adapter for running fixed commands on a tunnel server over SSH (node-ssh).
// Every command is an argument vector quoted by shellQuote; secrets travel on stdin.
import { connect as tcpConnect } from "node:net";
import type { NodeSSH } from "node-ssh";
import type { ClientChannel } from "ssh2";
import { shellQuote } from "../shell-quote";
import type { ServerSshAccess } from "../providers/provider";

export interface RemoteResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * One remote command held open: its stdout is read up to a marker line, then the
 * caller decides what goes on its stdin (a setup that must look before it makes
 * anything, in one exec instead of one per step).
 */
export interface RemoteProcess {
  /** stdout up to (not including) the line `marker`; rejects if the command ends first. */
  readUntil(marker: string): Promise<string>;
  /** Writes `text` and closes stdin. */
  end(text?: string): void;
  /** The exit, with the stdout after the last marker read and all of stderr. */
  wait(): Promise<RemoteResult>;
}

export interface RemoteShell {
  exec(
    argv: readonly string[],
    options?: { stdin?: string; timeoutMs?: number },
  ): Promise<RemoteResult>;
  start(argv: readonly string[], options?: { timeoutMs?: number }): RemoteProcess;
  dispose(): void;
}

export type ConnectRemoteShell = (
  access: ServerSshAccess,
  signal?: AbortSignal,
) => Promise<RemoteShell>;

/** The raw key blob of a `type base64 [comment]` line, to compare with what the server offers. */
export function hostKeyBlob(line: string): Buffer {
  const blob = line.trim().split(/\s+/)[1];
  if (!blob) throw new Error("pinned host key is not an OpenSSH public key line");
  return Buffer.from(blob, "base64");
}

/**
 * node-ssh, loaded on first use: only `create` configures servers over it, and
 * ssh2 beneath it takes a few hundred milliseconds to load on a small machine,
 * which `create` spends while its server is being made (CreateDeps.prepareShell).
 */
export function loadNodeSsh(): typeof import("node-ssh") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("node-ssh") as typeof import("node-ssh");
}

/**
 * Connects with the engineer's key, pinning the server's host key when the
 * provider knows it. A fresh server's sshd may take a moment: retried until `readyMs`.
 */
export const connectNodeSsh: ConnectRemoteShell = async (access, signal) => {
  const deadline = Date.now() + 60_000;
  let lastError: unknown;
  for (;;) {
    if (signal?.aborted) throw signal.reason ?? new Error("aborted");
    const ssh = new (loadNodeSsh().NodeSSH)();
    try {
      const pinned = access.hostKey ? hostKeyBlob(access.hostKey) : null;
      const keyType = access.hostKey?.trim().split(/\s+/)[0];
      // TCP_NODELAY from the first byte: ssh2 leaves Nagle on, so every small
      // packet of the handshake and of each exec waited for a delayed ACK (~40 ms).
      const sock = tcpConnect({ host: access.host, port: access.port, noDelay: true });
      sock.on("error", () => undefined); // reported by ssh2, which listens too
      await ssh.connect({
        sock,
        host: access.host,
        port: access.port,
        username: access.username,
        privateKeyPath: access.privateKeyPath,
        readyTimeout: 10_000,
        ...(pinned && keyType
          ? {
              algorithms: { serverHostKey: [keyType as "ssh-ed25519"] },
              hostVerifier: (key: Buffer) => key.equals(pinned),
            }
          : {}),
      });
      // A reset after connect (the server destroyed while the connection closes)
      // must not crash the CLI as an unhandled 'error' event: a command in flight
      // fails on its own when its channel closes.
      ssh.connection?.on("error", () => undefined);
      return wrap(ssh);
    } catch (err) {
      ssh.dispose();
      lastError = err;
      const message = (err as Error).message ?? "";
      // Authentication and host key failures will not fix themselves.
      if (/authentication|verification|host key/i.test(message) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error(
    `cannot reach the tunnel server over SSH at ${access.username}@${access.host}:${access.port}: ${(lastError as Error).message}`,
  );
};

function wrap(ssh: NodeSSH): RemoteShell {
  return {
    start(argv, options = {}) {
      const timeoutMs = options.timeoutMs ?? 60_000;
      const connection = ssh.connection;
      if (!connection) throw new Error("not connected to the tunnel server");
      return startProcess(
        (cb) => connection.exec(shellQuote(argv), cb),
        `${argv[0]} on the tunnel server`,
        timeoutMs,
      );
    },
    async exec(argv, options = {}) {
      const timeoutMs = options.timeoutMs ?? 60_000;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`${argv[0]} on the tunnel server timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        const result = await Promise.race([
          ssh.execCommand(
            shellQuote(argv),
            options.stdin !== undefined ? { stdin: options.stdin } : {},
          ),
          timeout,
        ]);
        return { code: result.code, stdout: result.stdout, stderr: result.stderr };
      } finally {
        clearTimeout(timer);
      }
    },
    dispose() {
      ssh.dispose();
    },
  };
}

/** A RemoteProcess over one ssh2 exec channel. */
function startProcess(
  open: (cb: (err: Error | undefined, channel: ClientChannel) => void) => void,
  what: string,
  timeoutMs: number,
): RemoteProcess {
  let stdout = "";
  let stderr = "";
  let code: number | null = null;
  let closed = false;
  let failure: Error | null = null;
  let channel: ClientChannel | null = null;
  let pendingInput: { text: string } | null = null;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const timer = setTimeout(() => {
    failure = new Error(`${what} timed out after ${timeoutMs} ms`);
    channel?.close();
    closed = true;
    wake();
  }, timeoutMs);
  open((err, ch) => {
    if (err) {
      failure = err;
      closed = true;
      clearTimeout(timer);
      wake();
      return;
    }
    channel = ch;
    ch.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      wake();
    });
    ch.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    ch.on("exit", (exitCode: number | null) => {
      code = exitCode;
    });
    ch.on("close", () => {
      closed = true;
      clearTimeout(timer);
      wake();
    });
    if (pendingInput) ch.end(pendingInput.text);
  });
  const until = (ready: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!ready()) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  return {
    async readUntil(marker) {
      const line = `${marker}\n`;
      const at = () => (stdout.startsWith(line) ? 0 : stdout.indexOf(`\n${line}`));
      await until(() => closed || at() >= 0);
      const index = at();
      if (index < 0) {
        if (failure) throw failure;
        throw new Error(
          `${what} ended (exit ${code ?? "?"}) before it said ${marker}: ${stderr.trim().split("\n").slice(-3).join(" / ")}`,
        );
      }
      const before = stdout.slice(0, index === 0 ? 0 : index + 1);
      stdout = stdout.slice(index === 0 ? line.length : index + 1 + line.length);
      return before;
    },
    end(text = "") {
      if (channel) channel.end(text);
      else pendingInput = { text };
    },
    async wait() {
      await until(() => closed);
      if (failure) throw failure;
      return { code, stdout, stderr };
    },
  };
}
