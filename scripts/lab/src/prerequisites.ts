// Test prerequisites: outside CI a missing one skips the test with a one-line
// reason; with SUPPORT_TUNNEL_TEST_STRICT=1 (set by .ci/run) it fails instead,
// so CI can never go green by skipping.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export const STRICT = process.env.SUPPORT_TUNNEL_TEST_STRICT === "1";

/** Admin connection for creating per-run test databases. */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

interface SkippableContext {
  skip(): void;
}

/** Skips (or, in strict mode, fails) the current test or suite when `missing` is not null. */
export function requirePrerequisite(ctx: SkippableContext, missing: string | null): void {
  if (missing === null) return;
  if (STRICT) throw new Error(`prerequisite missing: ${missing}`);
  console.log(`      skipped: ${missing}`);
  ctx.skip();
}

export function missingRoot(): string | null {
  return process.getuid?.() === 0 ? null : "needs root";
}

export function missingCommands(...commands: string[]): string | null {
  const missing = commands.filter((cmd) => {
    try {
      execFileSync("sh", ["-c", 'command -v "$1"', "sh", cmd], {
        stdio: "ignore",
        env: { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` },
      });
      return false;
    } catch {
      return true;
    }
  });
  return missing.length ? `needs ${missing.join(", ")} (run npm run setup as root)` : null;
}

/** Root plus the lab's tools: namespaces, WireGuard, sshd, sudo, nftables. */
export function missingLab(): string | null {
  return (
    missingRoot() ??
    missingCommands(
      "ip",
      "wg",
      "wg-quick",
      "wireguard-go",
      "sshd",
      "ssh",
      "ssh-keygen",
      "sudo",
      "nft",
      "unshare",
      "nsenter",
      "useradd",
      "mount",
      "hostname",
      "sysctl",
      "bash",
    ) ??
    missingTun() ??
    missingOverlayfs()
  );
}

/** Lab hosts get their own /etc as an overlay over the machine's. */
function missingOverlayfs(): string | null {
  try {
    const filesystems = readFileSync("/proc/filesystems", "utf8");
    if (/\toverlay$/m.test(filesystems)) return null;
  } catch {
    // fall through
  }
  // Not listed until first use when built as a module: try loading it.
  try {
    execFileSync("modprobe", ["overlay"], { stdio: "ignore" });
    return null;
  } catch {
    return "needs overlayfs (for each lab host's own /etc)";
  }
}

function missingTun(): string | null {
  try {
    execFileSync("test", ["-c", "/dev/net/tun"]);
    return null;
  } catch {
    return "needs /dev/net/tun for wireguard-go";
  }
}

/** Reachability of the PostgreSQL server the integration tests use. */
export async function missingPostgres(url = TEST_DATABASE_URL): Promise<string | null> {
  const { hostname, port } = new URL(url);
  const net = await import("node:net");
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname || "127.0.0.1", port: Number(port || 5432) });
    const done = (result: string | null) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(2000, () => done(`needs PostgreSQL at ${hostname}:${port || 5432}`));
    socket.once("connect", () => done(null));
    socket.once("error", () => done(`needs PostgreSQL at ${hostname}:${port || 5432}`));
  });
}
