// What the lab needs of the machine, as a test prerequisite (see the testkit's
// requirePrerequisite): root, the tools it runs, a tun device and overlayfs.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { missingCommands, missingRoot } from "@support-tunnel/testkit";

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
