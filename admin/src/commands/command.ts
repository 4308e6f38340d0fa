// `support command <id> -- CMD [ARGS...]`: one command as root on the device,
// stdout and stderr streamed, exiting with the remote exit code.
import { runSystemSsh } from "../adapters";
import type { Context } from "../context";
import { resolveDeviceAccess } from "../device-access";
import { CliError, ExitCode, ExitWith } from "../errors";
import { controlSocketPath, openFirstHop, prepareControlDir } from "../first-hop";
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
  const controlPath = controlSocketPath(ctx.config.dir, tunnelId);
  // The first hop to the server is made (or found open) while the api is asked.
  // One retry, 5 s each: with the api down, the recorded access is used without a long wait.
  const api = ctx.api({ retries: 1, timeoutMs: 5_000 });
  const { record, hop } = await resolveDeviceAccess(api, ctx.records(), tunnelId, {
    whileChecking: async (record) => {
      if (!controlPath) return;
      await prepareControlDir(ctx.config.dir);
      await openFirstHop(record, controlPath);
    },
    warn: (message) => ctx.printer.warn(message),
  });
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
