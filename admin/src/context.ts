// What every command is handed: the printer, the resolved config and factories
// for the side-effecting adapters, so specs can pass fakes.
import { SupportApiClient, type Printer } from "@support-tunnel/common";
import type { Environment, ResolvedConfig } from "./config";
import { requireApi } from "./config";

export interface Context {
  printer: Printer;
  env: Environment;
  config: ResolvedConfig;
  /** The api client for the logged-in engineer; throws "not logged in" without a url and token. */
  api(): SupportApiClient;
}

export function apiClientFor(config: ResolvedConfig): SupportApiClient {
  const { apiUrl, token } = requireApi(config);
  return new SupportApiClient({ baseUrl: apiUrl, token, userAgent: "support-cli/0.1" });
}
