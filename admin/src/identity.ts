// The engineer's SSH identity on tunnel servers: `--identity`, the config's
// `identity`, `~/.ssh/id_ed25519`, or else a key generated into the config dir.
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
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

export async function resolveIdentity(
  config: ResolvedConfig,
  flag?: string,
): Promise<EngineerIdentity> {
  let path = flag ?? config.file?.identity;
  if (!path) {
    const userKey = join(config.home, ".ssh", "id_ed25519");
    path = (await exists(userKey)) ? userKey : join(config.dir, "id_ed25519");
  }
  if (!(await exists(path))) {
    try {
      await execa(
        "ssh-keygen",
        ["-q", "-t", "ed25519", "-N", "", "-C", "support-engineer", "-f", path],
        {
          timeout: 20_000,
          stdin: "ignore",
        },
      );
    } catch (err) {
      throw new CliError(`cannot generate the SSH identity ${path}: ${(err as Error).message}`);
    }
  }
  let publicKey: string;
  try {
    publicKey = (await readFile(`${path}.pub`, "utf8")).trim();
  } catch {
    throw new CliError(`SSH identity ${path} has no public half ${path}.pub`);
  }
  return { privateKeyPath: path, publicKey };
}
