// Runs hooks: argv only, a time limit, and a last look at the program file (it
// must still be root-owned and writable by nobody else when it runs).
import { assertTrustedFile } from "../config";
import { run } from "./exec";
import type { HookRunner } from "./ports";

export function createHookRunner(): HookRunner {
  return {
    async run(argv, timeoutMs) {
      const [file, ...args] = argv;
      if (!file) throw new Error("empty hook");
      await assertTrustedFile(file, "hook", { ownerUid: 0 });
      await run(file, args, { timeoutMs });
    },
  };
}
