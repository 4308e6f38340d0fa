// The engineer CLI's configuration: the one module that reads the environment,
// plus the config file `login` writes (0600 in a 0700 directory, validated on
// read so a hand-edited file fails with the name of the bad field).
import { chmod, mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import writeFileAtomic from "write-file-atomic";
import { z } from "zod";
import {
  engineerTokenSchema,
  parseWire,
  providerSchema,
  ValidationError,
  type ProviderName,
} from "@support-tunnel/common";
import { CliError, ExitCode } from "./errors";

/** What the environment contributes; read once by `readEnvironment`. */
export interface Environment {
  configPath: string;
  apiUrl?: string;
  token?: string;
  lab?: string;
  /** SUPPORT_PROVIDER as set: checked only by the command that uses it (`create`). */
  provider?: string;
  home: string;
  /** True when stderr is a terminal (spinners) and stdin is one (prompts). */
  stderrIsTty: boolean;
  stdinIsTty: boolean;
  /** The whole environment, handed on to tools that need credentials (pulumi, gcloud). */
  raw: NodeJS.ProcessEnv;
}

export function readEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  tty: { stdin: boolean; stderr: boolean } = {
    stdin: Boolean(process.stdin.isTTY),
    stderr: Boolean(process.stderr.isTTY),
  },
): Environment {
  const home = env.HOME || homedir();
  const configHome = env.XDG_CONFIG_HOME || join(home, ".config");
  return {
    configPath: env.SUPPORT_ADMIN_CONFIG || join(configHome, "support-tunnel", "admin.json"),
    apiUrl: env.SUPPORT_API_URL || undefined,
    token: env.SUPPORT_TOKEN || undefined,
    lab: env.SUPPORT_LAB || undefined,
    provider: env.SUPPORT_PROVIDER || undefined,
    home,
    stderrIsTty: tty.stderr,
    stdinIsTty: tty.stdin,
    raw: env,
  };
}

export const urlSchema = z
  .string({
    error: (issue) => (issue.input === undefined ? "is required" : "must be a string"),
  })
  .url("must be a URL")
  .refine((s) => /^https?:\/\//.test(s), "must be an http or https URL");

export const sshHostSchema = z
  .string({ error: "must be a string" })
  .regex(
    /^[a-z_][a-z0-9_-]{0,31}@[A-Za-z0-9.-]+(:[0-9]{1,5})?$/,
    "must be user@host or user@host:port",
  );

/** What the lab accepts as a lab name (scripts/lab: `createLab`). */
export const labNameSchema = z
  .string({ error: "must be a string" })
  .regex(
    /^[a-z][a-z0-9]{0,11}$/,
    "must be a lab name: a lowercase letter, then up to 11 letters or digits",
  );

export const adminConfigSchema = z
  .object({
    // Both optional in the file: `support config set provider gcp` may come before
    // `login`; the commands that need them say "not logged in".
    apiUrl: urlSchema.optional(),
    token: z
      .string({
        error: (issue) => (issue.input === undefined ? "is required" : "must be a string"),
      })
      .refine(
        (s) => engineerTokenSchema.safeParse(s).success,
        "must be an engineer token (ste_...)",
      )
      .optional(),
    /** Default provider of `create`, below `--provider` and SUPPORT_PROVIDER. */
    provider: providerSchema.optional(),
    /** Private key of the engineer's SSH identity used on tunnel servers. */
    identity: z.string().min(1, "must be a path").optional(),
    netns: z.object({ lab: labNameSchema.optional() }).strict().optional(),
    ssh: z
      .object({
        host: sshHostSchema.optional(),
        /** known_hosts for the ssh provider's hosts; default the user's own. */
        knownHosts: z.string().min(1, "must be a path").optional(),
      })
      .strict()
      .optional(),
    /** Settings for the gcp provider; its own module validates the inside. */
    gcp: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type AdminConfig = z.infer<typeof adminConfigSchema>;

/** The file plus environment overrides: what the commands work with. */
export interface ResolvedConfig {
  path: string;
  /** Directory holding the config, the generated identity and the per-tunnel server records. */
  dir: string;
  file: AdminConfig | null;
  apiUrl?: string;
  token?: string;
  lab?: string;
  home: string;
}

export async function readConfigFile(path: string): Promise<AdminConfig | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new CliError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`config ${path} is not JSON`, ExitCode.Usage);
  }
  try {
    return parseWire(adminConfigSchema, json, "config");
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new CliError(`config ${path} is invalid: ${err.message}`, ExitCode.Usage);
    }
    throw err;
  }
}

export async function resolveConfig(env: Environment): Promise<ResolvedConfig> {
  const file = await readConfigFile(env.configPath);
  return {
    path: env.configPath,
    dir: dirname(env.configPath),
    file,
    apiUrl: env.apiUrl ?? file?.apiUrl,
    token: env.token ?? file?.token,
    lab: env.lab ?? file?.netns?.lab,
    home: env.home,
  };
}

/** Writes atomically, 0600 in a 0700 directory: the file holds a bearer token. */
export async function writeConfigFile(path: string, config: AdminConfig): Promise<void> {
  const valid = parseWire(adminConfigSchema, config, "config");
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await chmod(dirname(path), 0o700);
  await writeFileAtomic(path, JSON.stringify(valid, null, 2) + "\n", { mode: 0o600 });
}

/**
 * `--host` and `--lab` as typed, checked before the api or a provider is asked
 * anything, so a typo is a usage error (exit 2) and nothing is begun.
 */
export function checkProviderFlags(flags: { host?: string; lab?: string }): void {
  if (flags.host !== undefined && !sshHostSchema.safeParse(flags.host).success)
    throw new CliError(
      `--host ${JSON.stringify(flags.host)} must be user@host or user@host:port`,
      ExitCode.Usage,
    );
  if (flags.lab !== undefined && !labNameSchema.safeParse(flags.lab).success)
    throw new CliError(
      `--lab ${JSON.stringify(flags.lab)} must be a lab name: a lowercase letter, then up to 11 letters or digits`,
      ExitCode.Usage,
    );
}

/**
 * The provider `create` uses: `--provider`, else SUPPORT_PROVIDER, else the config
 * file's `provider`. There is no built-in default: `netns` only works inside a lab,
 * and guessing `gcp` would bill a cloud account the engineer did not name.
 */
export function chooseProvider(
  flag: string | undefined,
  env: Pick<Environment, "provider">,
  file: AdminConfig | null,
): ProviderName {
  if (flag !== undefined) return flag as ProviderName;
  if (env.provider !== undefined) {
    const parsed = providerSchema.safeParse(env.provider);
    if (!parsed.success)
      throw new CliError(
        `SUPPORT_PROVIDER=${JSON.stringify(env.provider)} is not a provider: use gcp, ssh or netns`,
        ExitCode.Usage,
      );
    return parsed.data;
  }
  if (file?.provider) return file.provider;
  throw new CliError(
    "no provider for the tunnel server: pass --provider gcp|ssh|netns, or set a default with `support config set provider gcp` (or SUPPORT_PROVIDER)",
    ExitCode.Usage,
  );
}

/** The api url and token, or an error telling the engineer to log in. */
export function requireApi(config: ResolvedConfig): { apiUrl: string; token: string } {
  if (!config.apiUrl || !config.token) {
    throw new CliError(
      "not logged in: run `support login --api URL` (or set SUPPORT_API_URL and SUPPORT_TOKEN)",
      ExitCode.Refused,
    );
  }
  return { apiUrl: config.apiUrl, token: config.token };
}
