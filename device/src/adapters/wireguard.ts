// WireGuard from wg-quick configs: up by common's WG_UP_SCRIPT (wg-quick's steps
// for our configs, without its dozen programs), down by wg-quick itself. Both use
// the kernel module when there is one and fall back to wireguard-go when there is not.
import { readFile } from "node:fs/promises";
import { WG_UP_SCRIPT } from "@support-tunnel/common/dist/wireguard-up";
import { run } from "./exec";
import type { WireGuard } from "./ports";

/**
 * The network devices of this process's network namespace, one per line after
 * two header lines (`  eth0: 1234 ...`). Read instead of running `ip link`: the
 * agent looks on every long-poll's return, and a file read costs no process.
 */
const NET_DEV = "/proc/self/net/dev";

/** Interface names in /proc/net/dev's text (a name never holds a colon or a space). */
export function parseNetDev(text: string): string[] {
  return text
    .split("\n")
    .slice(2)
    .map((line) => /^\s*([^\s:]+):/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** `wg show <iface> latest-handshakes`: one `<peer key>\t<unix seconds>` line per peer, 0 for never. */
export function parseLatestHandshakes(text: string): number | null {
  const seconds = text
    .split("\n")
    .map((line) => Number(line.split("\t")[1]))
    .filter((n) => Number.isInteger(n) && n > 0);
  return seconds.length ? Math.max(...seconds) * 1000 : null;
}

export const wgQuick: WireGuard = {
  async up(configPath) {
    // Detached (a session of its own, no terminal) because the wireguard-go it may
    // start must outlive this command: under `script` or `ssh -t`, a terminal that
    // closes sends SIGHUP to its session, which wireguard-go does not survive.
    // LOG_LEVEL=silent keeps wireguard-go's stdio on /dev/null whatever the
    // caller's environment says, so it holds none of our pipes.
    await run("sh", ["-c", WG_UP_SCRIPT, "sh", configPath], {
      timeoutMs: 30_000,
      detached: true,
      env: { LOG_LEVEL: "silent" },
    });
  },
  async down(configPath) {
    await run("wg-quick", ["down", configPath], { timeoutMs: 30_000 });
  },
  async deleteInterface(name) {
    if (!(await this.interfaces()).includes(name)) return;
    await run("ip", ["link", "del", "dev", name], { timeoutMs: 10_000 });
  },
  async interfaces() {
    return parseNetDev(await readFile(NET_DEV, "utf8"));
  },
  async latestHandshake(name) {
    const { stdout } = await run("wg", ["show", name, "latest-handshakes"], { timeoutMs: 10_000 });
    return parseLatestHandshakes(stdout);
  },
};
