// What lets stock OpenSSH tools reach a tunnel's device from this machine: the
// tunnel's Host block, the device's pinned host key and the egress public key
// under `ssh/` in the config dir (0700; files 0600), and the egress key's agent
// on the server forwarded to a socket in `control/` (0700, the socket 0600), on
// the first-hop master. All of it goes at `stop`, `gc` and `ssh-config --uninstall`.
import { chmod, mkdir, readFile, rm } from "node:fs/promises";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import writeFileAtomic from "write-file-atomic";
import { sshPublicKeySchema, type TunnelId } from "@support-tunnel/common";
import { CliError, ExitCode } from "./errors";
import { controlSocketPath } from "./first-hop";
import type { ServerRecord } from "./server-records";
import { serverPaths } from "./server-setup";
import { shellQuote } from "./shell-quote";
import { includeLine, pinnedHostKeyLines, withInclude } from "./ssh/ssh-config";
import { serverSshArgs, type DeviceHop } from "./ssh/system-ssh";

export function sshConfigDir(configDir: string): string {
  return join(configDir, "ssh");
}

export function stockSshPaths(configDir: string, tunnelId: TunnelId | string) {
  const dir = sshConfigDir(configDir);
  const control = controlSocketPath(configDir, tunnelId);
  return {
    dir,
    config: join(dir, `${tunnelId}.conf`),
    knownHosts: join(dir, `${tunnelId}.known_hosts`),
    publicKey: join(dir, `${tunnelId}.egress.pub`),
    /** Next to the master's socket: null when that path is too long for a socket. */
    agentSocket: control === null ? null : `${control}.agent`,
  };
}

async function execaOf() {
  return (await import("execa")).execa;
}

/**
 * The device's host key as the server pinned it, and the egress public key,
 * read from the server over the first hop (the master, when it is open).
 */
export async function readServerKeys(
  record: ServerRecord,
  hop: DeviceHop,
  controlPath: string | null,
): Promise<{ knownHosts: string[]; publicKey: string }> {
  const paths = serverPaths(hop.tunnelId, hop.interfaceName);
  const script = 'test -S "$3" || { echo "@@no-agent"; exit 0; }; cat "$1"; echo "@@pub"; cat "$2"';
  const execa = await execaOf();
  const result = await execa(
    "ssh",
    [
      ...serverSshArgs(record.server.ssh, record.knownHostsPath, {
        tty: false,
        strict: "yes",
        controlPath: controlPath ?? undefined,
      }),
      "--",
      shellQuote([
        "sh",
        "-c",
        script,
        "sh",
        paths.knownHosts,
        paths.egressPublicKey,
        paths.agentSocket,
      ]),
    ],
    { stdin: "ignore", reject: false, timeout: 30_000 },
  );
  const out = String(result.stdout);
  if (result.exitCode !== 0)
    throw new CliError(
      `could not read the tunnel's keys from ${record.server.instanceId} (ssh exit ${result.exitCode ?? "?"}): ${String(result.stderr).trim().split("\n").slice(-2).join(" / ")}`,
      ExitCode.SshFailure,
    );
  if (out.includes("@@no-agent"))
    throw new CliError(
      `the tunnel server ${record.server.instanceId} has no agent for the egress key (it was set up by an older \`support\`): stock ssh cannot reach this device; use \`support command\`/\`connect\`, or create the tunnel again`,
      ExitCode.Conflict,
    );
  const [known, pub] = out.split("@@pub\n");
  const knownHosts = pinnedHostKeyLines(known ?? "", hop.hostKeyAlias);
  if (knownHosts.length === 0)
    throw new CliError(
      `the device's host key is not pinned on ${record.server.instanceId}: run \`support command ${hop.tunnelId} -- true\` once, or create the tunnel again`,
      ExitCode.Conflict,
    );
  const publicKey = sshPublicKeySchema.safeParse((pub ?? "").trim());
  if (!publicKey.success)
    throw new Error("the egress public key read from the server is not an OpenSSH key line");
  return { knownHosts, publicKey: publicKey.data };
}

/** Writes the tunnel's Host block, known_hosts and public key (0600 in a 0700 dir). */
export async function writeStockSshFiles(
  configDir: string,
  tunnelId: TunnelId,
  files: { block: string; knownHosts: string[]; publicKey: string },
): Promise<ReturnType<typeof stockSshPaths>> {
  const paths = stockSshPaths(configDir, tunnelId);
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  await chmod(paths.dir, 0o700);
  await writeFileAtomic(paths.knownHosts, `${files.knownHosts.join("\n")}\n`, { mode: 0o600 });
  await writeFileAtomic(paths.publicKey, `${files.publicKey}\n`, { mode: 0o600 });
  await writeFileAtomic(paths.config, files.block, { mode: 0o600 });
  return paths;
}

/**
 * Adds `Include <config dir>/ssh/*.conf` at the top of ~/.ssh/config once.
 * Returns what changed, in words, or null when nothing did.
 */
export async function installInclude(home: string, configDir: string): Promise<string | null> {
  const sshDir = join(home, ".ssh");
  const file = join(sshDir, "config");
  const existing = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return null;
    throw err;
  });
  const next = withInclude(existing ?? "", includeLine(sshConfigDir(configDir)));
  if (next === null) return null;
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, next, { mode: 0o600 });
  return existing === null
    ? `created ${file} with \`${includeLine(sshConfigDir(configDir))}\``
    : `added \`${includeLine(sshConfigDir(configDir))}\` at the top of ${file}`;
}

/** Removes the tunnel's stock-ssh files and its forwarded agent socket; true when any was there. */
export async function removeStockSshFiles(
  configDir: string,
  tunnelId: TunnelId | string,
): Promise<boolean> {
  const paths = stockSshPaths(configDir, tunnelId);
  let found = false;
  for (const file of [paths.config, paths.knownHosts, paths.publicKey, paths.agentSocket]) {
    if (file === null) continue;
    const there = await readFile(file).then(
      () => true,
      (err: NodeJS.ErrnoException) => err.code !== "ENOENT",
    );
    found ||= there;
    await rm(file, { force: true });
  }
  return found;
}

function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socket);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * Forwards the egress key's agent socket on the server to `local` through the
 * first-hop master (`ssh -O forward -L local:remote`; asking twice is a no-op
 * for the master). A socket a dead master left is removed first. The master
 * makes it 0600 (StreamLocalBindMask), in the 0700 control dir.
 */
export async function forwardEgressAgent(
  record: ServerRecord,
  hop: DeviceHop,
  controlPath: string,
  local: string,
): Promise<void> {
  if (await answers(local)) return;
  await mkdir(dirname(local), { recursive: true, mode: 0o700 });
  await rm(local, { force: true });
  const { username, host, port } = record.server.ssh;
  const remote = serverPaths(hop.tunnelId, hop.interfaceName).agentSocket;
  const execa = await execaOf();
  const result = await execa(
    "ssh",
    [
      "-o",
      `ControlPath=${controlPath}`,
      "-p",
      String(port),
      "-O",
      "forward",
      "-L",
      `${local}:${remote}`,
      `${username}@${host}`,
    ],
    { stdin: "ignore", reject: false, timeout: 15_000 },
  );
  if (result.exitCode !== 0)
    throw new CliError(
      `could not forward the egress key's agent from ${record.server.instanceId}: ${String(result.stderr).trim()}`,
      ExitCode.SshFailure,
    );
}
