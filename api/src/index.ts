// @support-tunnel/api: the bookkeeping api, importable for tests and tooling.
export { createApp } from "./app";
export { loadConfig, type ApiConfig } from "./config";
export { startApi, type RunningApi } from "./commands/serve";
