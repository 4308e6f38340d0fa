// Imported first by bin.ts, before any other module is compiled: V8 settings
// that trade speed this CLI never needed for memory its agent keeps all day on
// every device (issue 14: the idle agent ≤ 45 MiB).
import { setFlagsFromString } from "node:v8";

/**
 * V8's optimizing (TurboFan) and baseline (Sparkplug) compilers. Compiling even
 * one hot function, which loading the CLI's modules makes of path.normalizeString,
 * pages in ~3.5 MiB of the node binary's compiler code, resident for the agent's
 * whole life. Every command here waits on the network, the disk or a program;
 * its crypto is two X25519 operations per tunnel, as fast interpreted. Both are
 * flags V8 reads when it decides to compile, so setting them at run time, before
 * anything is hot, is enough. Those that save more (`--jitless`,
 * `--max-semi-space-size`) only work on node's command line: the launcher's
 * shebang (bin/support-device.js, which the unit runs) gives them; this covers
 * `node dist/bin.js`.
 */
export const LEAN_V8_FLAGS = ["--no-opt", "--no-sparkplug"] as const;

for (const flag of LEAN_V8_FLAGS) setFlagsFromString(flag);
