// What connect and command need to reach a device: the local server record and
// the api's view of the tunnel (support user, tunnel address), checked together.
import {
  isTerminal,
  tunnelAddresses,
  TunnelState,
  type SupportApiClient,
  type TunnelId,
} from "@support-tunnel/common";
import { CliError, ExitCode } from "./errors";
import type { ServerRecord, ServerRecordStore } from "./server-records";
import type { DeviceHop } from "./ssh/system-ssh";

export async function resolveDeviceAccess(
  api: Pick<SupportApiClient, "getTunnel">,
  records: ServerRecordStore,
  tunnelId: TunnelId,
): Promise<{ record: ServerRecord; hop: DeviceHop }> {
  const tunnel = await api.getTunnel(tunnelId);
  if (isTerminal(tunnel.state)) {
    throw new CliError(
      `tunnel ${tunnelId} is over (${tunnel.state}, stopped by ${tunnel.stoppedBy ?? "?"}${tunnel.stopReason ? `: ${tunnel.stopReason}` : ""})`,
      ExitCode.Conflict,
    );
  }
  if (tunnel.state !== TunnelState.Running && tunnel.state !== TunnelState.Connected) {
    throw new CliError(
      `tunnel ${tunnelId} is ${tunnel.state}: the device has not connected yet`,
      ExitCode.Conflict,
    );
  }
  if (!tunnel.supportUser)
    throw new CliError(`tunnel ${tunnelId} has no support user yet`, ExitCode.Conflict);
  const record = await records.load(tunnelId);
  if (!record) {
    throw new CliError(
      `no server record for tunnel ${tunnelId} on this machine: connect and command work from the machine that ran \`support create\``,
      ExitCode.NotFound,
    );
  }
  if (tunnel.server && tunnel.server.instanceId !== record.server.instanceId) {
    throw new CliError(
      `the api says tunnel ${tunnelId} runs on ${tunnel.server.instanceId}, not on ${record.server.instanceId} recorded here`,
      ExitCode.Conflict,
    );
  }
  return {
    record,
    hop: {
      tunnelId,
      interfaceName: record.server.interfaceName,
      supportUser: tunnel.supportUser,
      deviceAddress: tunnelAddresses(tunnel.network).device,
    },
  };
}
