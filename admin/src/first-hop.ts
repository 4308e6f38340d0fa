// The first hop (engineer → tunnel server) kept open between commands: an OpenSSH
// ControlMaster that `create` or the first `command`/`connect` leaves behind
// (ControlPersist), so a repeated command pays only the hop to the device. Its
// socket gives whoever can open it the engineer's session on the server: it
// lives in a directory of its own, 0700, under the config dir, and stop and gc
// close it. The hop from the server to the device is kept on the server in the
// same way (system-ssh.ts deviceHopArgv), its host key pinned at first contact.
import { chmod, lstat, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { TunnelId } from "@support-tunnel/common";
import { runProgram } from "@support-tunnel/common/dist/run-program";
import type { ServerRecord } from "./server-records";
import { serverSshArgs } from "./ssh/system-ssh";

export function controlDir(configDir: string): string {
  return join(configDir, "control");
}

/**
 * The tunnel's control socket, or null when its path is too long for a Unix
 * socket (108 bytes, and OpenSSH first binds a name 17 bytes longer): then
 * every command makes its own first hop, as without multiplexing.
 */
export function controlSocketPath(configDir: string, tunnelId: TunnelId | string): string | null {
  const path = join(controlDir(configDir), tunnelId.replace(/-/g, "").slice(0, 16));
  return Buffer.byteLength(path) <= 88 ? path : null;
}

/** Makes the control directory, and makes it 0700 again if it was made otherwise. */
export async function prepareControlDir(configDir: string): Promise<void> {
  await mkdir(controlDir(configDir), { recursive: true, mode: 0o700 });
  await chmod(controlDir(configDir), 0o700);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Starts the master for the tunnel's server when there is none (`ssh -N -f`:
 * it backgrounds once authenticated). Best effort: a command that finds no
 * master makes its own first hop, and becomes the master itself.
 */
export async function openFirstHop(record: ServerRecord, controlPath: string): Promise<void> {
  if (await exists(controlPath)) return; // live, or stale: ControlMaster=auto replaces a stale one
  await runProgram(
    "ssh",
    [
      "-N",
      "-f",
      ...serverSshArgs(record.server.ssh, record.knownHostsPath, {
        tty: false,
        strict: "yes",
        controlPath,
      }),
    ],
    // Its output ignored: the master it leaves in the background would hold it open.
    { output: "ignore", timeoutMs: 20_000 },
  );
}

/** Ends the tunnel's master, if any, and removes its socket. */
export async function closeFirstHop(
  configDir: string,
  record: Pick<ServerRecord, "tunnelId" | "server">,
): Promise<void> {
  const controlPath = controlSocketPath(configDir, record.tunnelId);
  if (!controlPath || !(await exists(controlPath))) return;
  const { username, host, port } = record.server.ssh;
  await runProgram(
    "ssh",
    ["-o", `ControlPath=${controlPath}`, "-p", String(port), "-O", "exit", `${username}@${host}`],
    { output: "ignore", timeoutMs: 10_000 },
  );
  await rm(controlPath, { force: true });
}
