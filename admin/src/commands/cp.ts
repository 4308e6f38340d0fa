// `support cp <id> [-r] SRC... DST`: copies files to or from the device with stock
// scp (SFTP) over the tunnel's `ssh-config` Host block, so they go through the
// tunnel server and land in the device's record; root-owned places work, since
// the device's session program runs sftp-server as root. Modes and times kept.
import type { Context } from "../context";
import { planCopy } from "../copy-args";
import { CliError, ExitCode } from "../errors";
import { whyTunnelEnded } from "../session-ending";
import { sshHostAlias } from "../ssh/ssh-config";
import { resolveTunnelId } from "../tunnel-id";
import { prepareStockSsh } from "./ssh-config";

export interface CopyOptions {
  id: string;
  paths: string[];
  recursive?: boolean;
  quiet?: boolean;
  ctx: Context;
}

export async function cp(options: CopyOptions): Promise<void> {
  const { ctx } = options;
  const tunnelId = await resolveTunnelId(options.id, () => ctx.api());
  // Before anything reaches the network: a bad argument changes nothing.
  const plan = planCopy(options.paths, sshHostAlias(tunnelId));
  const { configFile } = await prepareStockSsh(ctx, tunnelId);
  // scp draws its progress meter only on a terminal; -q turns it off there too.
  const { execa } = await import("execa");
  const result = await execa(
    "scp",
    [
      "-F",
      configFile,
      "-p",
      ...(options.recursive ? ["-r"] : []),
      ...(options.quiet ? ["-q"] : []),
      "--",
      ...plan.scpPaths,
    ],
    { stdio: "inherit", reject: false },
  );
  if (result.exitCode === undefined)
    throw new CliError(`could not run scp: ${result.message}`, ExitCode.Failure);
  if (result.exitCode === 0) return;
  const ended = await whyTunnelEnded(ctx.api(), tunnelId).catch(() => null);
  if (ended) throw new CliError(`the copy was cut: ${ended}`, ExitCode.SshFailure);
  throw new CliError(
    `the copy failed (scp exit ${result.exitCode}); scp said why above`,
    result.exitCode === 255 ? ExitCode.SshFailure : ExitCode.Failure,
  );
}
