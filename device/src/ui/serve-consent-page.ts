// Serves the consent page from a command (`ui`, `agent --ui`): the device's
// services, the listen address from the flag, else the config, else loopback.
import type { CommandContext } from "../context";
import { startConsentServer, type RunningConsentServer } from "./consent-server";
import { DeviceConsentServices, type DeviceConsentOptions } from "./device-consent-services";
import { journalRecordProviders } from "./journal-record-providers";
import { DEFAULT_LISTEN, parseListenAddress } from "./listen-address";

export interface ServeConsentPageOptions extends DeviceConsentOptions {
  /** `--listen`; the config's `ui.listen`, else 127.0.0.1:7480, when absent. */
  listen?: string;
}

export async function serveConsentPage(
  ctx: CommandContext,
  options: ServeConsentPageOptions = {},
): Promise<RunningConsentServer> {
  const { listen, ...serviceOptions } = options;
  const { deps, settings } = ctx;
  const services = new DeviceConsentServices(
    {
      lifecycle: ctx.lifecycle,
      store: deps.store,
      api: deps.api,
      clock: deps.clock,
      log: deps.log,
    },
    // The page shows the session record this device keeps: timelines, replays, who is in.
    { record: journalRecordProviders(deps.journal), ...serviceOptions },
  );
  const server = await startConsentServer({
    services,
    listen: parseListenAddress(listen ?? settings.ui?.listen ?? DEFAULT_LISTEN),
    passwordHash: settings.ui?.passwordHash,
    hostNames: settings.ui?.hostNames,
    deviceName: deps.network.hostname(),
    log: deps.log,
    now: () => deps.clock.now(),
    random: deps.random,
  });
  ctx.printer.data({ url: server.url }, () => `consent page: ${server.url}`);
  return server;
}
