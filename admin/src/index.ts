// @support-tunnel/admin: the engineer CLI (`support`) and the tunnel-server providers.
export { main } from "./cli";
export type * from "./providers/provider";
export { createProvider } from "./providers/registry";
export { shellQuote } from "./shell-quote";
