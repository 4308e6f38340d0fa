// What connect and command need to reach a device. Where the device is (network,
// address), which account it made and which server it is behind come from the
// record `support create` wrote; the api's view only says whether the tunnel is
// still on, and an answer that disagrees with the record is refused: a lying api
// must not steer the engineer's commands to another host or account.
import {
  ApiUnreachableError,
  isTerminal,
  TunnelState,
  type SupportApiClient,
  type TunnelId,
  type TunnelView,
} from "@support-tunnel/common";
import { CliError, ExitCode } from "./errors";
import type { ServerRecord, ServerRecordStore } from "./server-records";
import type { DeviceHop } from "./ssh/system-ssh";

/** Where the api's view and the record disagree, one phrase each; empty when they agree. */
export function recordDisagreements(
  record: Pick<ServerRecord, "server" | "device">,
  tunnel: Pick<TunnelView, "network" | "supportUser" | "server">,
): string[] {
  const found: string[] = [];
  const say = (what: string, api: unknown, recorded: unknown) =>
    found.push(
      `the api says ${what} is ${JSON.stringify(api)}, create recorded ${JSON.stringify(recorded)}`,
    );
  if (record.device && tunnel.network !== record.device.network)
    say("the network", tunnel.network, record.device.network);
  if (record.device?.supportUser !== undefined && tunnel.supportUser !== record.device.supportUser)
    say("the support user", tunnel.supportUser, record.device.supportUser);
  if (tunnel.server?.instanceId !== record.server.instanceId)
    say("the server", tunnel.server?.instanceId ?? null, record.server.instanceId);
  return found;
}

export interface DeviceAccessOptions {
  /**
   * Run with the record while the api is asked (the first hop to the server:
   * nothing reaches the device before the api's answer is in).
   */
  whileChecking?: (record: ServerRecord, hop: DeviceHop) => Promise<void>;
  /** Said when the api is unreachable and the recorded access is used. */
  warn?: (message: string) => void;
}

export async function resolveDeviceAccess(
  api: Pick<SupportApiClient, "getTunnel">,
  records: ServerRecordStore,
  tunnelId: TunnelId,
  options: DeviceAccessOptions = {},
): Promise<{ record: ServerRecord; hop: DeviceHop; tunnel: TunnelView | null }> {
  const answer = api.getTunnel(tunnelId).then(
    (tunnel) => ({ tunnel }),
    (error: unknown) => ({ error }),
  );
  const recorded = await records.load(tunnelId);
  const usable = recorded && usableRecord(recorded);
  const alongside =
    usable && options.whileChecking
      ? options.whileChecking(recorded, hopOf(recorded, tunnelId))
      : null;
  const outcome = await answer;
  await alongside?.catch(() => undefined);
  if ("error" in outcome) {
    // The api keeps the books, it is not what lets us in: with it down, the access
    // recorded at create still works, and the device still enforces its own expiry
    // and the customer's revocation (it removes the account).
    if (!(outcome.error instanceof ApiUnreachableError) || !usable) throw outcome.error;
    options.warn?.(
      `the api is unreachable; using the recorded access to ${tunnelId}; the device still enforces expiry and revocation`,
    );
    return { record: recorded, hop: hopOf(recorded, tunnelId), tunnel: null };
  }
  const tunnel = outcome.tunnel;
  // The api may always narrow: an ended or not yet connected tunnel is not reached.
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
  const record = recorded;
  if (!record) {
    throw new CliError(
      `no server record for tunnel ${tunnelId} on this machine: connect and command work from the machine that ran \`support create\``,
      ExitCode.NotFound,
    );
  }
  if (!usable) {
    throw new CliError(
      `the server record of tunnel ${tunnelId} does not hold the device's support user and pinned host key (made by an older \`support\`, or create did not finish): run \`support stop ${tunnelId}\` and create the tunnel again`,
      ExitCode.Conflict,
    );
  }
  const disagreements = recordDisagreements(record, tunnel);
  if (disagreements.length > 0) {
    throw new CliError(
      `refusing to reach tunnel ${tunnelId}: ${disagreements.join("; ")}. The api's answer changed since create; nothing was run on the device`,
      ExitCode.Refused,
    );
  }
  return { record, hop: hopOf(record, tunnelId), tunnel };
}

/** A record `create` finished: it holds the device's support user and pinned host key. */
function usableRecord(record: ServerRecord): boolean {
  return Boolean(record.device?.supportUser && record.device.hostKeyAlias);
}

function hopOf(record: ServerRecord, tunnelId: TunnelId): DeviceHop {
  const device = record.device!;
  return {
    tunnelId,
    interfaceName: record.server.interfaceName,
    supportUser: device.supportUser!,
    network: device.network,
    deviceAddress: device.address,
    hostKeyAlias: device.hostKeyAlias!,
  };
}
