#!/usr/bin/env -S node --jitless --no-expose-wasm --max-semi-space-size=1
// Committed launcher, so npm links this binary at install time, before `tsc -b` has built dist/.
// The flags are for the agent, which the unit runs through this file and which
// waits all day on every device (issue 14: idle ≤ 45 MiB): no V8 compilers
// (`--jitless`, so none of their code is paged in from the node binary; no
// WebAssembly either, which nothing here runs) and a 1 MiB young generation.
// Every command is I/O bound, its crypto two X25519 operations per tunnel.
// bin.js sets what it can of this at run time, for `node dist/bin.js`.
require("../dist/bin.js");
