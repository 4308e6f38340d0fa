// What the machine already routes, so a tunnel subnet can avoid it.
import * as os from "node:os";
import { run } from "./exec";
import type { LocalNetwork } from "./ports";

export const localNetwork: LocalNetwork = {
  async usedCidrs() {
    const routes = JSON.parse(
      (await run("ip", ["-4", "-j", "route", "show", "table", "all"], { timeoutMs: 10_000 }))
        .stdout || "[]",
    ) as { dst?: unknown }[];
    const addrs = JSON.parse(
      (await run("ip", ["-4", "-j", "addr"], { timeoutMs: 10_000 })).stdout || "[]",
    ) as {
      addr_info?: { local?: unknown; prefixlen?: unknown }[];
    }[];
    const used = routes
      .map((r) => r.dst)
      .filter((dst): dst is string => typeof dst === "string" && /^[\d.]+(\/\d+)?$/.test(dst));
    for (const link of addrs) {
      for (const info of link.addr_info ?? []) {
        if (typeof info.local === "string" && typeof info.prefixlen === "number") {
          used.push(`${info.local}/${info.prefixlen}`);
        }
      }
    }
    return used;
  },
  hostname: () => os.hostname(),
};
