// `support command <id> -- CMD [ARGS...]`: one command as root on the device,
// stdout and stderr streamed, exiting with the remote exit code.
import type { SupportApiClient } from "@support-tunnel/common";
import { resolveDeviceAccess } from "../device-access";
import { CliError, ExitCode, ExitWith } from "../errors";
import type { ServerRecordStore } from "../server-records";
import { throughServerArgs } from "../ssh/system-ssh";
import { parseTunnelId } from "../tunnel-id";

/** Runs `ssh` with the given args, stdio inherited; resolves with its exit code. */
export type RunSsh = (args: string[], options: { interactive: boolean }) => Promise<number>;

export interface RemoteDeps {
  api: Pick<SupportApiClient, "getTunnel">;
  records: ServerRecordStore;
  runSsh: RunSsh;
}

export async function command(
  id: string,
  argv: readonly string[],
  deps: RemoteDeps,
): Promise<never> {
  const tunnelId = parseTunnelId(id);
  if (argv.length === 0)
    throw new CliError(
      "give the command after --, e.g. `support command ID -- uname -a`",
      ExitCode.Usage,
    );
  const { record, hop } = await resolveDeviceAccess(deps.api, deps.records, tunnelId);
  const args = throughServerArgs(
    record.server.ssh,
    record.knownHostsPath,
    hop,
    ["sudo", "-n", "--", ...argv],
    false,
  );
  const code = await deps.runSsh(args, { interactive: false });
  if (code === 255) {
    throw new CliError(
      `ssh to the device through ${record.server.instanceId} failed (exit 255): the tunnel may be down or the device may have revoked it`,
      ExitCode.SshFailure,
    );
  }
  throw new ExitWith(code);
}
