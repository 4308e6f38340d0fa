// `support ssh-config <id> [--install | --uninstall]`: the OpenSSH Host block with
// which stock ssh, scp, sftp, rsync, VS Code Remote-SSH and Ansible reach the
// device (ssh/ssh-config.ts says how, stock-ssh.ts where its files live).
import { resolve as resolvePath, join } from "node:path";
import type { TunnelId } from "@support-tunnel/common";
import type { Context } from "../context";
import { reachDevice } from "../reach-device";
import { CliError, ExitCode } from "../errors";
import { controlSocketPath } from "../first-hop";
import { renderSshHostBlock, sshHostAlias, SshConfigPathError } from "../ssh/ssh-config";
import {
  installInclude,
  readServerKeys,
  removeStockSshFiles,
  stockSshPaths,
  writeStockSshFiles,
} from "../stock-ssh";
import { resolveTunnelId } from "../tunnel-id";

export interface SshConfigOptions {
  id: string;
  install?: boolean;
  uninstall?: boolean;
  ctx: Context;
}

/** Checks the tunnel as `command` does, then writes its Host block and keys; returns the block. */
export async function prepareStockSsh(
  ctx: Context,
  tunnelId: TunnelId,
): Promise<{ alias: string; block: string; configFile: string }> {
  const controlPath = controlSocketPath(ctx.config.dir, tunnelId);
  const paths = stockSshPaths(ctx.config.dir, tunnelId);
  if (controlPath === null || paths.agentSocket === null)
    throw new CliError(
      `the config dir ${ctx.config.dir} is too deep for a Unix socket path: stock ssh needs one; use a shorter --config`,
      ExitCode.Usage,
    );
  const { record, hop } = await reachDevice(ctx, tunnelId);
  const keys = await readServerKeys(record, hop, controlPath);
  let block: string;
  try {
    block = renderSshHostBlock({
      tunnelId,
      supportUser: hop.supportUser,
      network: hop.network,
      deviceAddress: hop.deviceAddress,
      hostKeyAlias: hop.hostKeyAlias,
      // dist/commands/ssh-config.js → dist/bin.js: the CLI that is running now.
      proxy: {
        node: process.execPath,
        bin: join(__dirname, "..", "bin.js"),
        config: resolvePath(ctx.config.path),
      },
      agentSocket: paths.agentSocket,
      publicKey: paths.publicKey,
      knownHosts: paths.knownHosts,
    });
  } catch (err) {
    if (err instanceof SshConfigPathError) throw new CliError(err.message, ExitCode.Usage);
    throw err;
  }
  await writeStockSshFiles(ctx.config.dir, tunnelId, { ...keys, block });
  return { alias: sshHostAlias(tunnelId), block, configFile: paths.config };
}

export async function sshConfig(options: SshConfigOptions): Promise<void> {
  const { ctx } = options;
  if (options.install && options.uninstall)
    throw new CliError("--install and --uninstall exclude each other", ExitCode.Usage);
  const tunnelId = await resolveTunnelId(options.id, () => ctx.api());
  if (options.uninstall) {
    const removed = await removeStockSshFiles(ctx.config.dir, tunnelId);
    ctx.printer.info(
      removed
        ? `removed the ssh config of ${sshHostAlias(tunnelId)} (the Include line in ~/.ssh/config stays; it reads no other file)`
        : `no ssh config of ${sshHostAlias(tunnelId)} was there`,
    );
    return;
  }
  const { alias, block, configFile } = await prepareStockSsh(ctx, tunnelId);
  if (!options.install) {
    ctx.printer.data({ host: alias, config: configFile, block }, () => block.trimEnd());
    return;
  }
  const changed = await installInclude(ctx.config.home, ctx.config.dir);
  if (changed) ctx.printer.info(changed);
  ctx.printer.info(`wrote ${configFile}`);
  ctx.printer.data({ host: alias, config: configFile, block }, () => `ssh ${alias}`);
}
