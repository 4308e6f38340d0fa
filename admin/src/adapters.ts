// Real side effects the commands are handed: reading the PSK, pinning host keys,
// running the system ssh client.
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { execa } from "execa";
import writeFileAtomic from "write-file-atomic";
import { CliError, ExitCode } from "./errors";
import type { TunnelServer } from "./providers/provider";

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

/** `ssh` with the terminal handed over; interactive sessions and streamed commands have no time limit. */
export async function runSystemSsh(args: string[]): Promise<number> {
  const result = await execa("ssh", args, { stdio: "inherit", reject: false });
  if (result.failed && result.exitCode === undefined) {
    throw new CliError(`could not run ssh: ${result.message}`, ExitCode.Failure);
  }
  return result.exitCode ?? ExitCode.SshFailure;
}

export async function readAllStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads a line from the terminal without echoing it (the PSK is a secret). */
export function promptHidden(
  question: string,
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    stderr.write(question);
    let value = "";
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const finish = (err: Error | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener("data", onData);
      stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return finish(null);
        if (ch === "\u0003") return finish(new CliError("interrupted", ExitCode.Interrupted));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}
