// `support proxy <id>` (hidden): the ProxyCommand of `support ssh-config`'s Host
// block. Checks the tunnel with the api and the record as `command` does, makes
// sure the first-hop master is up and the egress key's agent is forwarded, then
// carries the connection to the device's sshd through the tunnel server (`ssh
// -W`): stdin and stdout are the SSH stream, so nothing else is written there.
import type { Context } from "../context";
import { reachDevice } from "../reach-device";
import { CliError, ExitCode, ExitWith } from "../errors";
import { controlSocketPath } from "../first-hop";
import { forwardEgressAgent, stockSshPaths } from "../stock-ssh";
import { serverSshArgs } from "../ssh/system-ssh";
import { parseTunnelId } from "../tunnel-id";

export interface ProxyOptions {
  id: string;
  ctx: Context;
}

export async function proxy({ id, ctx }: ProxyOptions): Promise<never> {
  // The Host block names the whole id: no api lookup of a prefix.
  const tunnelId = parseTunnelId(id);
  const controlPath = controlSocketPath(ctx.config.dir, tunnelId);
  const agentSocket = stockSshPaths(ctx.config.dir, tunnelId).agentSocket;
  if (controlPath === null || agentSocket === null)
    throw new CliError(`the config dir ${ctx.config.dir} is too deep for a Unix socket path`);
  const { record, hop } = await reachDevice(ctx, tunnelId);
  await forwardEgressAgent(record, hop, controlPath, agentSocket);
  const { execa } = await import("execa");
  // On the master only (ControlMaster=no: this one never becomes one); the server's
  // sshd opens the TCP connection, from its tunnel address, the device's `from=`.
  const result = await execa(
    "ssh",
    [
      "-o",
      `ControlPath=${controlPath}`,
      "-o",
      "ControlMaster=no",
      "-W",
      `${hop.deviceAddress}:22`,
      ...serverSshArgs(record.server.ssh, record.knownHostsPath, { tty: false, strict: "yes" }),
    ],
    { stdio: "inherit", reject: false },
  );
  if (result.exitCode === undefined)
    throw new CliError(`could not run ssh: ${result.message}`, ExitCode.SshFailure);
  throw new ExitWith(result.exitCode);
}
