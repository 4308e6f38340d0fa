// @support-tunnel/lab: the network-namespace lab (hosts with their own /etc and
// /home, NAT router, internet segment) that the device tests, the netns provider,
// the end-to-end tests and the demo stand on, and the rewriting proxy that plays a
// lying api in the trust-model tests. A development package; see README.md.
export * from "./prerequisites";
export * from "./addresses";
export * from "./host";
export * from "./lab";
export * from "./api-process";
export { SBIN_PATH, isProcessAlive, processStartTime, type RunResult } from "./system";
export * from "./rewriting-proxy";
