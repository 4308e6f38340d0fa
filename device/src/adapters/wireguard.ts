// WireGuard through wg-quick, which uses the kernel module when there is one and
// falls back to wireguard-go by itself when there is not.
import { run } from "./exec";
import type { WireGuard } from "./ports";

export const wgQuick: WireGuard = {
  async up(configPath) {
    await run("wg-quick", ["up", configPath], { timeoutMs: 30_000 });
  },
  async down(configPath) {
    await run("wg-quick", ["down", configPath], { timeoutMs: 30_000 });
  },
  async deleteInterface(name) {
    if (!(await this.interfaces()).includes(name)) return;
    await run("ip", ["link", "del", "dev", name], { timeoutMs: 10_000 });
  },
  async interfaces() {
    const { stdout } = await run("ip", ["-j", "link", "show"], { timeoutMs: 10_000 });
    return (JSON.parse(stdout || "[]") as { ifname?: unknown }[])
      .map((link) => link.ifname)
      .filter((name): name is string => typeof name === "string");
  },
};
