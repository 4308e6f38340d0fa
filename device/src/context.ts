// Wires the real adapters to the device logic: the only place that does.
import { randomBytes } from "node:crypto";
import { SupportApiClient } from "@support-tunnel/common";
import { systemClock } from "./adapters/clock";
import { createHookRunner } from "./adapters/hooks";
import { localNetwork } from "./adapters/network";
import { FileStateStore } from "./adapters/state-store";
import { SystemUsers } from "./adapters/users";
import { wgQuick } from "./adapters/wireguard";
import { Agent, type AgentOptions } from "./agent";
import type { DeviceSettings } from "./config";
import type { Printer } from "./printer";
import { TunnelLifecycle, type TunnelLifecycleDeps } from "./tunnel-lifecycle";
import { TunnelUpkeep } from "./tunnel-upkeep";

/** Every adapter the device has, with its settings: the lifecycle uses all of them, the rest a part. */
export type DeviceDeps = TunnelLifecycleDeps;

export interface CommandContext {
  settings: DeviceSettings;
  deps: DeviceDeps;
  lifecycle: TunnelLifecycle;
  upkeep: TunnelUpkeep;
  agent: Agent;
  printer: Printer;
  /** Aborted on SIGTERM/SIGINT: long-running commands stop cleanly. */
  signal: AbortSignal;
}

export function realDeps(settings: DeviceSettings, log: (message: string) => void): DeviceDeps {
  return {
    settings,
    clock: systemClock,
    random: (n) => new Uint8Array(randomBytes(n)),
    api: (baseUrl, token) =>
      new SupportApiClient({ baseUrl, token, retries: 2, userAgent: "support-device/0.1" }),
    wg: wgQuick,
    users: new SystemUsers(),
    hooks: createHookRunner(),
    network: localNetwork,
    store: new FileStateStore(settings.stateDir),
    log,
  };
}

export function contextFrom(
  deps: DeviceDeps,
  printer: Printer,
  signal: AbortSignal,
  agentOptions: AgentOptions = {},
): CommandContext {
  const lifecycle = new TunnelLifecycle(deps);
  const { clock, api, wg, users, store, log } = deps;
  const upkeep = new TunnelUpkeep({ lifecycle, clock, api, wg, users, store, log });
  const agent = new Agent({ lifecycle, upkeep, store, clock, api, wg, log }, agentOptions);
  return { settings: deps.settings, deps, lifecycle, upkeep, agent, printer, signal };
}
