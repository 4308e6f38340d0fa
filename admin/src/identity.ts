// The engineer's SSH identity on tunnel servers: `--identity`, the config's
// `identity`, `~/.ssh/id_ed25519`, or else a key generated into the config dir.
import { randomBytes } from "node:crypto";
import { access, link, mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ResolvedConfig } from "./config";
import { CliError } from "./errors";

export interface EngineerIdentity {
  privateKeyPath: string;
  /** The matching public key line, for providers that authorize it on a server. */
  publicKey: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Generates a key into a temp name and links it into place, so two CLIs starting
 * at once (two creates in parallel) both end up with the same, complete key.
 */
async function generateIdentity(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // pid and a random part: racers may share a process (and a millisecond) too.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const { execa } = await import("execa"); // ESM, loaded when first needed
    await execa(
      "ssh-keygen",
      ["-q", "-t", "ed25519", "-N", "", "-C", "support-engineer", "-f", tmp],
      {
        timeout: 20_000,
        stdin: "ignore",
      },
    );
    try {
      await link(tmp, path);
      await rename(`${tmp}.pub`, `${path}.pub`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  } catch (err) {
    throw new CliError(`cannot generate the SSH identity ${path}: ${(err as Error).message}`);
  } finally {
    await rm(tmp, { force: true });
    await rm(`${tmp}.pub`, { force: true });
  }
}

export async function resolveIdentity(
  config: ResolvedConfig,
  flag?: string,
): Promise<EngineerIdentity> {
  let path = flag ?? config.file?.identity;
  if (!path) {
    const userKey = join(config.home, ".ssh", "id_ed25519");
    path = (await exists(userKey)) ? userKey : join(config.dir, "id_ed25519");
  }
  if (!(await exists(path))) await generateIdentity(path);
  let publicKey: string;
  try {
    // Derived from the private key rather than read from `.pub`: always the matching half.
    const { execa } = await import("execa");
    const derived = await execa("ssh-keygen", ["-y", "-f", path], {
      timeout: 20_000,
      stdin: "ignore",
    });
    publicKey = String(derived.stdout).trim();
  } catch (err) {
    throw new CliError(
      `cannot read the SSH identity ${path} (a key with a passphrase is not supported): ${(err as Error).message}`,
    );
  }
  return { privateKeyPath: path, publicKey };
}
