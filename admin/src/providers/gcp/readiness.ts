// Waiting for a fresh VM: sshd answers, our key is accepted, and the startup
// script has finished. The host key is taken on first contact (seconds after we
// created the VM) and pinned in what `obtain` returns.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServerSshAccess } from "../provider";
import { STARTUP_MARKER } from "./startup-script";

export type ProbeResult =
  | { state: "unreachable" }
  | { state: "booting"; hostKey: string }
  | { state: "ready"; hostKey: string }
  | { state: "failed"; hostKey: string };

export interface ServerProbe {
  probe(access: ServerSshAccess, signal?: AbortSignal): Promise<ProbeResult>;
}

export interface WaitDependencies {
  probe: ServerProbe;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const PROBE_INTERVAL_MS = 5000;

/** Polls until the server is ready or the deadline passes; returns the pinned host key. */
export async function waitForServer(
  access: ServerSshAccess,
  deps: WaitDependencies,
  options: { timeoutMs: number; onProgress?: (m: string) => void; signal?: AbortSignal },
): Promise<string> {
  const deadline = deps.now() + options.timeoutMs;
  let last = "";
  for (;;) {
    options.signal?.throwIfAborted();
    const result = await deps.probe.probe(access, options.signal);
    if (result.state === "ready") return result.hostKey;
    if (result.state === "failed") {
      throw new Error(
        `the startup script on ${access.host} could not install wireguard-tools and nftables (see the VM's serial console)`,
      );
    }
    const message =
      result.state === "unreachable"
        ? `waiting for SSH on ${access.host}`
        : `waiting for the startup script on ${access.host} to install WireGuard`;
    if (message !== last) options.onProgress?.(message);
    last = message;
    if (deps.now() >= deadline) {
      const what =
        result.state === "unreachable" ? "SSH did not answer" : "the startup script did not finish";
      throw new Error(`${access.host}: ${what} within ${Math.round(options.timeoutMs / 1000)} s`);
    }
    await deps.sleep(
      Math.min(PROBE_INTERVAL_MS, Math.max(0, deadline - deps.now())),
      options.signal,
    );
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
    }
    signal?.addEventListener("abort", abort, { once: true });
  });
}

/** The real probe: `ssh-keyscan` for the host key, then `ssh` with only that key trusted. */
export class OpenSshProbe implements ServerProbe {
  async probe(access: ServerSshAccess, signal?: AbortSignal): Promise<ProbeResult> {
    const { execa } = await import("execa");
    const scan = await execa(
      "ssh-keyscan",
      ["-T", "5", "-t", "ed25519", "-p", String(access.port), access.host],
      { reject: false, timeout: 15_000, cancelSignal: signal },
    );
    const line = scan.stdout
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .find((parts) => parts.length >= 3 && parts[1] === "ssh-ed25519");
    if (!line) return { state: "unreachable" };
    const hostKey = `${line[1]} ${line[2]}`;
    const dir = await mkdtemp(join(tmpdir(), "st-gcp-"));
    try {
      const knownHosts = join(dir, "known_hosts");
      const hostPattern = access.port === 22 ? access.host : `[${access.host}]:${access.port}`;
      await writeFile(knownHosts, `${hostPattern} ${hostKey}\n`, { mode: 0o600 });
      const ssh = await execa(
        "ssh",
        [
          "-o",
          "BatchMode=yes",
          "-o",
          "ConnectTimeout=10",
          "-o",
          "StrictHostKeyChecking=yes",
          "-o",
          `UserKnownHostsFile=${knownHosts}`,
          "-o",
          "IdentitiesOnly=yes",
          "-i",
          access.privateKeyPath,
          "-p",
          String(access.port),
          "-l",
          access.username,
          "--",
          access.host,
          // a constant: no data reaches the remote shell
          `cat ${STARTUP_MARKER} 2>/dev/null || true`,
        ],
        { reject: false, timeout: 30_000, cancelSignal: signal, stdin: "ignore" },
      );
      // Authentication can fail for a while: the guest agent adds our key after sshd starts.
      if (ssh.exitCode !== 0) return { state: "booting", hostKey };
      const status = ssh.stdout.trim();
      if (status === "ok") return { state: "ready", hostKey };
      if (status === "failed") return { state: "failed", hostKey };
      return { state: "booting", hostKey };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
