// The adapter for running fixed commands on a tunnel server over SSH (node-ssh).
// Every command is an argument vector quoted by shellQuote; secrets travel on stdin.
import type { NodeSSH } from "node-ssh";
import { shellQuote } from "../shell-quote";
import type { ServerSshAccess } from "../providers/provider";

export interface RemoteResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RemoteShell {
  exec(
    argv: readonly string[],
    options?: { stdin?: string; timeoutMs?: number },
  ): Promise<RemoteResult>;
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
 * Connects with the engineer's key, pinning the server's host key when the
 * provider knows it. A fresh server's sshd may take a moment: retried until `readyMs`.
 */
export const connectNodeSsh: ConnectRemoteShell = async (access, signal) => {
  const deadline = Date.now() + 60_000;
  let lastError: unknown;
  for (;;) {
    if (signal?.aborted) throw signal.reason ?? new Error("aborted");
    // Loaded on first use: only `create` configures servers over node-ssh.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ssh = new (require("node-ssh") as typeof import("node-ssh")).NodeSSH();
    try {
      const pinned = access.hostKey ? hostKeyBlob(access.hostKey) : null;
      const keyType = access.hostKey?.trim().split(/\s+/)[0];
      await ssh.connect({
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
