// The OpenSSH client config with which stock tools (ssh, scp, sftp, rsync -e ssh,
// VS Code Remote-SSH, Ansible) reach a device as its support account: a
// `Host support-<short id>` block whose ProxyCommand is `support proxy`, which
// checks the tunnel as `command` does and carries the connection through the
// tunnel server (`ssh -W`), and whose only identity is the egress key's agent on
// the server, forwarded to a local socket: the key signs, it never leaves the
// server, and the device still sees every session come from the server's tunnel
// address. Pure, so it is tested with hostile input.
import { supportUserSchema, tunnelAddresses, tunnelIdSchema } from "@support-tunnel/common";
import { shellQuote } from "../shell-quote";

/** The name stock tools use: `support-` and the first 8 hex digits of the tunnel id. */
export function sshHostAlias(tunnelId: string): string {
  return `support-${tunnelId.replace(/-/g, "").slice(0, 8).toLowerCase()}`;
}

/**
 * A path that goes into ssh_config as is: no quotes, `%` tokens, `$` variables,
 * `~`, `#` or line breaks, which ssh_config or the ProxyCommand's shell would read.
 */
const CONFIG_PATH = /^\/[A-Za-z0-9._/@+,=: -]*$/;

export class SshConfigPathError extends Error {
  override name = "SshConfigPathError";
}

function configPath(value: string, what: string): string {
  if (!CONFIG_PATH.test(value))
    throw new SshConfigPathError(
      `${what} ${JSON.stringify(value)} cannot go in an ssh config: use an absolute path of letters, digits, spaces and ._/@+,=:-`,
    );
  return value;
}

/** A path as an ssh_config argument: quoted when it holds a space. */
function configValue(value: string, what: string): string {
  const p = configPath(value, what);
  return p.includes(" ") ? `"${p}"` : p;
}

export interface SshHostBlockInput {
  tunnelId: string;
  supportUser: string;
  network: string;
  deviceAddress: string;
  /** The alias the device's host key is pinned under (deviceHostKeyAlias). */
  hostKeyAlias: string;
  /** `support proxy`: node, the CLI's bin.js and its config file. */
  proxy: { node: string; bin: string; config: string };
  /** The forwarded agent socket, the egress public key and the pinned known_hosts, on this machine. */
  agentSocket: string;
  publicKey: string;
  knownHosts: string;
}

/** The Host block; throws on anything that could change its meaning. */
export function renderSshHostBlock(input: SshHostBlockInput): string {
  const tunnelId = tunnelIdSchema.parse(input.tunnelId);
  if (!supportUserSchema.safeParse(input.supportUser).success)
    throw new Error(`not a support user: ${JSON.stringify(input.supportUser)}`);
  if (tunnelAddresses(input.network).device !== input.deviceAddress)
    throw new Error(`${input.deviceAddress} is not the device's address in ${input.network}`);
  if (input.hostKeyAlias !== `device.${tunnelId}.support-tunnel`)
    throw new Error(`not the tunnel's host key alias: ${JSON.stringify(input.hostKeyAlias)}`);
  // The ProxyCommand is run by a shell (quoted by shellQuote) after ssh expands
  // `%` tokens (none can be in these paths).
  const proxy = shellQuote([
    configPath(input.proxy.node, "node"),
    configPath(input.proxy.bin, "the support CLI"),
    "proxy",
    "--config",
    configPath(input.proxy.config, "the config file"),
    tunnelId,
  ]);
  return [
    `# support-tunnel ${tunnelId}: written by \`support ssh-config\`, removed by \`support stop\`, \`gc\` and \`ssh-config --uninstall\``,
    `Host ${sshHostAlias(tunnelId)}`,
    `  HostName ${input.deviceAddress}`,
    `  User ${input.supportUser}`,
    `  ProxyCommand ${proxy}`,
    // The only key offered is the egress key, signed for by its agent on the server.
    `  IdentityAgent ${configValue(input.agentSocket, "the agent socket")}`,
    `  IdentityFile ${configValue(input.publicKey, "the egress public key")}`,
    "  IdentitiesOnly yes",
    "  PreferredAuthentications publickey",
    // The device's host key as the server pinned it at create; nothing else is accepted.
    `  HostKeyAlias ${input.hostKeyAlias}`,
    `  UserKnownHostsFile ${configValue(input.knownHosts, "the known_hosts file")}`,
    "  GlobalKnownHostsFile /dev/null",
    "  StrictHostKeyChecking yes",
    "  CheckHostIP no",
    "  UpdateHostKeys no",
    "  ForwardAgent no",
    "  ForwardX11 no",
    // Each connection goes through `support proxy`, which asks the api first.
    "  ControlMaster no",
    "  ControlPath none",
    "  ServerAliveInterval 15",
    "",
  ].join("\n");
}

/** The line `--install` puts at the top of ~/.ssh/config. */
export function includeLine(sshConfigDir: string): string {
  const pattern = `${configPath(sshConfigDir, "the config dir")}/*.conf`;
  return `Include ${pattern.includes(" ") ? `"${pattern}"` : pattern}`;
}

const INCLUDE_COMMENT = "# support-tunnel: the hosts of `support ssh-config --install`";

/**
 * ~/.ssh/config with the Include added once, at the top: an Include below a
 * `Host` line would only apply inside that block. Null when it is there already.
 */
export function withInclude(existing: string, line: string): string | null {
  if (existing.split("\n").some((l) => l.trim() === line)) return null;
  return `${INCLUDE_COMMENT}\n${line}\n\n${existing}`;
}

/**
 * The device's pinned host key lines from the tunnel's known_hosts on the server:
 * only lines under the tunnel's alias with a key type and base64 key.
 */
export function pinnedHostKeyLines(knownHosts: string, hostKeyAlias: string): string[] {
  return knownHosts
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(
      (f) =>
        f.length >= 3 &&
        f[0] === hostKeyAlias &&
        /^(ssh-[a-z0-9-]+|ecdsa-sha2-nistp\d+|sk-[a-z0-9@.-]+)$/.test(f[1]!) &&
        /^[A-Za-z0-9+/]+={0,2}$/.test(f[2]!),
    )
    .map((f) => `${f[0]} ${f[1]} ${f[2]}`);
}
