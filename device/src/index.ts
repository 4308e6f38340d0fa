// @support-tunnel/device: the device CLI and agent, importable for tests and embedding.
export * from "./errors";
export * from "./record";
export * from "./config";
export * from "./tunnel-lifecycle";
export * from "./tunnel-upkeep";
export * from "./agent";
export * from "./printer";
export * from "./cli";
export type * from "./adapters/ports";
