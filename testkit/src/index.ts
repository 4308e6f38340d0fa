// @support-tunnel/testkit: what the tests of every workspace share and production
// never imports: prerequisites (skip, or fail in strict mode), throwaway PostgreSQL
// databases, polling instead of sleeping, bounded concurrency, the README's command
// tables. Depends on nothing of ours.
export * from "./prerequisites";
export * from "./database";
export * from "./wait";
export * from "./concurrency";
export * from "./readme";
export * from "./compare-checks";
