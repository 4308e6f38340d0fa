// `support command <id> -- CMD [ARGS...]`: one command as root on the device,
// stdout and stderr streamed, exiting with the remote exit code.
import { runSystemSsh, startGatedSsh, type GatedSsh } from "../adapters";
import type { Context } from "../context";
import { CliError, ExitCode, ExitWith } from "../errors";
import { reachDevice, type DeviceReach } from "../reach-device";
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
  const inner = ["sudo", "-n", "--", ...argv];
  // ssh starts while the api is asked, its hop to the device held at the gate on
  // the server: the api's answer opens it, or nothing runs on the device.
  const early: { ssh?: GatedSsh } = {};
  let reach: DeviceReach;
  try {
    reach = await reachDevice(ctx, tunnelId, {
      whileChecking: ({ record, hop, controlPath }) => {
        early.ssh = startGatedSsh(
          throughServerArgs(record.server.ssh, record.knownHostsPath, hop, inner, false, {
            controlPath: controlPath ?? undefined,
            gated: true,
          }),
        );
      },
    });
  } catch (err) {
    early.ssh?.cancel();
    throw err;
  }
  const { record, hop, controlPath } = reach;
  const code = await (early.ssh
    ? early.ssh.open()
    : runSystemSsh(
        throughServerArgs(record.server.ssh, record.knownHostsPath, hop, inner, false, {
          controlPath: controlPath ?? undefined,
        }),
      ));
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
