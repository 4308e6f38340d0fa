// `support command <id> -- CMD [ARGS...]`: one command as root on the device,
// stdout and stderr streamed, exiting with the remote exit code.
import { runSystemSsh } from "../adapters";
import type { Context } from "../context";
import { CliError, ExitCode, ExitWith } from "../errors";
import { reachDevice } from "../reach-device";
import { whyTunnelEnded } from "../session-ending";
import { throughServerArgs } from "../ssh/system-ssh";
import { resolveTunnelId } from "../tunnel-id";

export interface CommandOptions {
  id: string;
  /** The command and its arguments, each reaching `sudo -n --` on the device as is. */
  argv: readonly string[];
  ctx: Context;
}

export async function command({ id, argv, ctx }: CommandOptions): Promise<never> {
  const tunnelId = await resolveTunnelId(id, () => ctx.api());
  if (argv.length === 0)
    throw new CliError(
      "give the command after --, e.g. `support command ID -- uname -a`",
      ExitCode.Usage,
    );
  const { record, hop, controlPath } = await reachDevice(ctx, tunnelId);
  const args = throughServerArgs(
    record.server.ssh,
    record.knownHostsPath,
    hop,
    ["sudo", "-n", "--", ...argv],
    false,
    { controlPath: controlPath ?? undefined },
  );
  const code = await runSystemSsh(args);
  if (code === 255) {
    const ended = await whyTunnelEnded(ctx.api(), tunnelId);
    if (ended) throw new CliError(`the command was cut: ${ended}`, ExitCode.SshFailure);
    throw new CliError(
      `ssh to the device through ${record.server.instanceId} failed (exit 255): the tunnel may be down, the device may have revoked it, or its SSH host key is not the one pinned at create (see ssh's message above)`,
      ExitCode.SshFailure,
    );
  }
  throw new ExitWith(code);
}
