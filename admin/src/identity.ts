// The engineer's SSH identity on tunnel servers: `--identity`, the config's
// `identity`, `~/.ssh/id_ed25519`, or else a key generated into the config dir.
import { execFile } from "node:child_process";
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

/** Where the identity is: the flag, the config's, `~/.ssh/id_ed25519` if present, else the config dir's. */
async function identityPath(config: ResolvedConfig, flag?: string): Promise<string> {
  const path = flag ?? config.file?.identity;
  if (path) return path;
  const userKey = join(config.home, ".ssh", "id_ed25519");
  return (await exists(userKey)) ? userKey : join(config.dir, "id_ed25519");
}

/**
 * The public half, derived from the private key rather than read from `.pub`:
 * always the matching half. node's execFile, not execa: this runs before the
 * api has answered, and must not wait for execa's ESM graph to load.
 */
function derivePublicKey(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "ssh-keygen",
      ["-y", "-f", path],
      { timeout: 20_000, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (err) {
          const said = stderr.trim();
          reject(
            new CliError(
              `cannot read the SSH identity ${path} (a key with a passphrase is not supported): ${said || err.message}`,
            ),
          );
        } else resolve(stdout.trim());
      },
    );
    child.stdin?.end(); // as `stdin: ignore`: a passphrase prompt reads EOF and fails
  });
}

export async function resolveIdentity(
  config: ResolvedConfig,
  flag?: string,
): Promise<EngineerIdentity> {
  const path = await identityPath(config, flag);
  if (!(await exists(path))) await generateIdentity(path);
  return { privateKeyPath: path, publicKey: await derivePublicKey(path) };
}

/**
 * Starts resolving the identity ahead of a role check: an existing key's public
 * half is derived at once (reading a key touches nothing), while a missing key
 * is generated only when the returned function is called, after the check.
 * A failure is held until then, so the check's own refusal is said first.
 */
export function resolveIdentityAhead(
  config: ResolvedConfig,
  flag?: string,
): () => Promise<EngineerIdentity> {
  const existing: Promise<{ value: EngineerIdentity | null } | { error: unknown }> = identityPath(
    config,
    flag,
  )
    .then(async (path) =>
      (await exists(path))
        ? { privateKeyPath: path, publicKey: await derivePublicKey(path) }
        : null,
    )
    .then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  return async () => {
    const outcome = await existing;
    if ("error" in outcome) throw outcome.error;
    return outcome.value ?? resolveIdentity(config, flag);
  };
}
