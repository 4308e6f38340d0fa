// The engineer CLI's configuration: the one module that reads the environment,
// plus the config file `login` writes (0600 in a 0700 directory, validated on
// read so a hand-edited file fails with the name of the bad field).
import { chmod, mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import writeFileAtomic from "write-file-atomic";
import { z } from "zod";
import { engineerTokenSchema, parseWire, ValidationError } from "@support-tunnel/common";
import { CliError, ExitCode } from "./errors";

/** What the environment contributes; read once by `readEnvironment`. */
export interface Environment {
  configPath: string;
  apiUrl?: string;
  token?: string;
  lab?: string;
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
    home,
    stderrIsTty: tty.stderr,
    stdinIsTty: tty.stdin,
    raw: env,
  };
}

const urlSchema = z
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

export const adminConfigSchema = z
  .object({
    apiUrl: urlSchema,
    token: z
      .string({
        error: (issue) => (issue.input === undefined ? "is required" : "must be a string"),
      })
      .refine(
        (s) => engineerTokenSchema.safeParse(s).success,
        "must be an engineer token (ste_...)",
      ),
    /** Private key of the engineer's SSH identity used on tunnel servers. */
    identity: z.string().min(1, "must be a path").optional(),
    netns: z
      .object({ lab: z.string().min(1, "must be a lab name").optional() })
      .strict()
      .optional(),
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
