// @support-tunnel/common: the contract between the parts and the only code they share.
import "./zod-lazy-locales"; // first: before anything loads zod
export * from "./ids";
export * from "./state";
export * from "./net";
export * from "./crypto";
export * from "./approval";
export * from "./refusal";
export * from "./schemas";
export * from "./access";
export * from "./wireguard";
export * from "./wireguard-up";
export * from "./client";
export * from "./node-http-fetch";
export * from "./untrusted";
export * from "./display";
export * from "./codes";
export * from "./relative-time";
export * from "./exit-codes";
export * from "./printer";
export * from "./tool-sessions";
export * from "./run-program";
