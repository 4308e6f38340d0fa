// Wires the real adapters to the device logic: the only place that does.
// From common's modules, not its index, which loads zod: the idle agent does without it.
import type { OutputStream } from "@support-tunnel/common";
import { SupportApiClient } from "@support-tunnel/common/dist/client";
import { DEVICE_ID_HEADER } from "@support-tunnel/common/dist/ids";
import { nodeHttpFetch } from "@support-tunnel/common/dist/node-http-fetch";
import { systemClock } from "./adapters/clock";
import { createHookRunner } from "./adapters/hooks";
import { FileJournal } from "./adapters/journal-store";
import { localNetwork } from "./adapters/network";
import { nftFirewall } from "./adapters/firewall";
import { FileStateStore } from "./adapters/state-store";
import { SystemUsers } from "./adapters/users";
import { wgQuick } from "./adapters/wireguard";
import { Agent, type AgentOptions } from "./agent";
import { assertTrustedFile, type DeviceSettings } from "./config";
import type { Printer } from "./printer";
import { TunnelLifecycle, type TunnelLifecycleDeps } from "./tunnel-lifecycle";
import { TunnelUpkeep } from "./tunnel-upkeep";

/* eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when needed: node:crypto costs an idle agent ~2 MiB */
const crypto = () => require("node:crypto") as typeof import("node:crypto");

/** Every adapter the device has, with its settings: the lifecycle uses all of them, the rest a part. */
export type DeviceDeps = TunnelLifecycleDeps;

export interface CommandContext {
  settings: DeviceSettings;
  deps: DeviceDeps;
  lifecycle: TunnelLifecycle;
  upkeep: TunnelUpkeep;
  agent: Agent;
  printer: Printer;
  /** stdout as is, for what is not a printer's line of data (a replayed session, an asciicast). */
  output: OutputStream;
  /** Aborted on SIGTERM/SIGINT: long-running commands stop cleanly. */
  signal: AbortSignal;
}

export function realDeps(settings: DeviceSettings, log: (message: string) => void): DeviceDeps {
  const store = new FileStateStore(settings.stateDir);
  // The device's identity goes with every request, for the fleet view; one that
  // cannot be read or made is left out rather than keeping the customer from help.
  let identity: Promise<Record<string, string>> | undefined;
  const identityHeader = () =>
    (identity ??= store.deviceId().then(
      (id) => ({ [DEVICE_ID_HEADER]: id }),
      (err: unknown) => {
        log(`no device identity sent: ${err instanceof Error ? err.message : String(err)}`);
        return {};
      },
    ));
  return {
    settings,
    clock: systemClock,
    random: (n) => new Uint8Array(crypto().randomBytes(n)),
    api: (baseUrl, token) =>
      new SupportApiClient({
        baseUrl,
        token,
        retries: 2,
        userAgent: "support-device/0.1",
        headers: identityHeader,
        fetch: nodeHttpFetch,
      }),
    wg: wgQuick,
    firewall: nftFirewall,
    users: new SystemUsers(),
    hooks: createHookRunner(),
    network: localNetwork,
    store,
    journal: new FileJournal(settings.logDir),
    assertTrusted: (file, what) => assertTrustedFile(file, what, { ownerUid: 0 }),
    log,
  };
}

export function contextFrom(
  deps: DeviceDeps,
  printer: Printer,
  signal: AbortSignal,
  output: OutputStream,
  agentOptions: AgentOptions = {},
): CommandContext {
  const lifecycle = new TunnelLifecycle(deps);
  const { clock, api, wg, firewall, users, store, journal, log } = deps;
  const { sessionRetentionDays } = deps.settings;
  const upkeep = new TunnelUpkeep({
    lifecycle,
    clock,
    api,
    wg,
    firewall,
    users,
    store,
    journal,
    sessionRetentionDays,
    log,
  });
  const agent = new Agent({ lifecycle, upkeep, store, clock, api, wg, log }, agentOptions);
  return { settings: deps.settings, deps, lifecycle, upkeep, agent, printer, output, signal };
}
