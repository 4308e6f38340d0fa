// How every command that works on a device (connect, command, cp, forward,
// collect, ssh-config, proxy) gets there: the access `create` recorded, checked
// against the api (device-access.ts), with the first hop to the server made or
// found open while the api is asked (first-hop.ts).
import type { TunnelId, TunnelView } from "@support-tunnel/common";
import type { Context } from "./context";
import { resolveDeviceAccess } from "./device-access";
import { controlSocketPath, openFirstHop, prepareControlDir } from "./first-hop";
import type { ServerRecord } from "./server-records";
import type { DeviceHop } from "./ssh/system-ssh";

export interface DeviceReach {
  record: ServerRecord;
  hop: DeviceHop;
  /** The api's view; null when it was unreachable and the recorded access is used. */
  tunnel: TunnelView | null;
  /** The first hop's ControlMaster socket; null when the config dir is too deep for one. */
  controlPath: string | null;
}

export interface ReachOptions {
  /**
   * Run with the recorded access once the first hop is open, while the api is
   * still asked: what may start before its answer, as long as nothing of it
   * reaches the device (a gated ssh, system-ssh.ts). Not run when there is no
   * usable record.
   */
  whileChecking?: (reach: Omit<DeviceReach, "tunnel">) => void;
}

export async function reachDevice(
  ctx: Context,
  tunnelId: TunnelId,
  options: ReachOptions = {},
): Promise<DeviceReach> {
  const controlPath = controlSocketPath(ctx.config.dir, tunnelId);
  // One retry, 5 s each: with the api down, the recorded access is used without a long wait.
  const api = ctx.api({ retries: 1, timeoutMs: 5_000 });
  const access = await resolveDeviceAccess(api, ctx.records(), tunnelId, {
    whileChecking: async (record, hop) => {
      if (controlPath) {
        await prepareControlDir(ctx.config.dir);
        await openFirstHop(record, controlPath);
      }
      options.whileChecking?.({ record, hop, controlPath });
    },
    warn: (message) => ctx.printer.warn(message),
  });
  return { ...access, controlPath };
}
