// Settings of the gcp provider: the one place in it that reads the environment,
// the validator for the `gcp` section of the admin config file, and the defaults.
// Layers are merged flags > environment > config file > defaults by the caller.
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { parseCidr } from "@support-tunnel/common";

export type Env = Readonly<Record<string, string | undefined>>;

export interface GcpProviderOptions {
  /** GCP project the tunnel servers are billed to. */
  project?: string;
  /** Region; derived from the zone when absent. */
  region?: string;
  /** Zone of the VMs. Default `us-central1-a` (where e2-micro is cheapest). */
  zone?: string;
  /** Default `e2-micro`: the cheapest shape that runs sshd and WireGuard comfortably. */
  machineType?: string;
  /** VPC network name or self link. Default `default`; prefer the `tunnelServerNetwork` output of `infra/`. */
  network?: string;
  subnetwork?: string;
  /** Pulumi state backend. Default a local file backend under `configDir`. */
  backendUrl?: string;
  /** The admin config directory: holds the default state backend. */
  configDir?: string;
  /** Passphrase for the file backend's secrets provider. Our stacks hold no secrets; default empty. */
  configPassphrase?: string;
  /** One OpenSSH public key line, put in the VM's `ssh-keys` metadata. Default: `<privateKeyPath>.pub`. */
  engineerSshPublicKey?: string;
  /** Login on the VM. With ssh-keys metadata any name works; with OS Login it is your POSIX account name. */
  sshUsername?: string;
  /** Use OS Login (IAM decides who gets in) instead of a key in the instance metadata. */
  osLogin?: boolean;
  /** CIDRs engineers SSH from. Required: SSH is never opened to the world unless you list 0.0.0.0/0. */
  sshSourceRanges?: string[];
  /** The engineer's private key for SSH to the server. Default `~/.ssh/id_ed25519`. */
  privateKeyPath?: string;
  /** UDP port WireGuard listens on. Default 51820. */
  wgPort?: number;
  /** How long `obtain` waits for SSH and the startup script. Default 6 minutes. */
  readyTimeoutMs?: number;
  /** The environment to look for `pulumi`, credentials and HOME in (the admin passes its own). */
  env?: Env;
}

/** Options with every default applied: what the provider works with. */
export interface ResolvedGcpOptions {
  project: string | undefined;
  region: string;
  zone: string;
  machineType: string;
  network: string;
  subnetwork: string | undefined;
  backendUrl: string;
  configPassphrase: string;
  engineerSshPublicKey: string | undefined;
  sshUsername: string;
  osLogin: boolean;
  sshSourceRanges: string[];
  privateKeyPath: string;
  wgPort: number;
  readyTimeoutMs: number;
  env: Env;
}

export const DEFAULT_ZONE = "us-central1-a";
export const DEFAULT_MACHINE_TYPE = "e2-micro";
export const DEFAULT_WG_PORT = 51820;
export const DEFAULT_READY_TIMEOUT_MS = 6 * 60_000;

function list(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  return raw
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function flag(raw: string | undefined): boolean | undefined {
  if (raw === undefined || raw === "") return undefined;
  return ["1", "true", "yes", "on"].includes(raw.toLowerCase());
}

function int(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  return Number(raw);
}

/**
 * What the environment says. `SUPPORT_GCP_*` first, then the variables gcloud and
 * Pulumi already use, so an operator with a working gcloud needs to set little.
 */
export function gcpOptionsFromEnv(env: Env = process.env): GcpProviderOptions {
  const options: GcpProviderOptions = {
    project: env.SUPPORT_GCP_PROJECT || env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT,
    region: env.SUPPORT_GCP_REGION || env.CLOUDSDK_COMPUTE_REGION,
    zone: env.SUPPORT_GCP_ZONE || env.CLOUDSDK_COMPUTE_ZONE,
    machineType: env.SUPPORT_GCP_MACHINE_TYPE,
    network: env.SUPPORT_GCP_NETWORK,
    subnetwork: env.SUPPORT_GCP_SUBNETWORK,
    backendUrl: env.SUPPORT_GCP_BACKEND_URL || env.PULUMI_BACKEND_URL,
    configPassphrase: env.PULUMI_CONFIG_PASSPHRASE,
    engineerSshPublicKey: env.SUPPORT_GCP_SSH_PUBLIC_KEY,
    sshUsername: env.SUPPORT_GCP_SSH_USERNAME,
    osLogin: flag(env.SUPPORT_GCP_OS_LOGIN),
    sshSourceRanges: list(env.SUPPORT_GCP_SSH_SOURCE_RANGES),
    privateKeyPath: env.SUPPORT_GCP_SSH_PRIVATE_KEY,
    wgPort: int(env.SUPPORT_GCP_WG_PORT),
    env,
  };
  return dropUndefined(options);
}

const gcpConfigSectionSchema = z.strictObject(
  {
    project: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
    zone: z.string().min(1).optional(),
    machineType: z.string().min(1).optional(),
    network: z.string().min(1).optional(),
    subnetwork: z.string().min(1).optional(),
    backendUrl: z.string().min(1).optional(),
    engineerSshPublicKey: z.string().min(1).optional(),
    sshUsername: z.string().min(1).optional(),
    osLogin: z.boolean().optional(),
    sshSourceRanges: z.array(z.string()).optional(),
    privateKeyPath: z.string().min(1).optional(),
    wgPort: z.number().int().optional(),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `Unrecognized key(s) in object: ${issue.keys.map((k) => `'${k}'`).join(", ")}`
        : undefined,
  },
);

/** Validates the `gcp` section of the admin config file; errors name the bad field. */
export function gcpOptionsFromConfigSection(section: unknown): GcpProviderOptions {
  if (section === undefined || section === null) return {};
  const parsed = gcpConfigSectionSchema.safeParse(section);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `gcp.${issue.path.join(".")}` : "gcp";
    throw new Error(`config ${where}: ${issue.message}`);
  }
  return dropUndefined(parsed.data);
}

/** Keys a caller sets in code rather than in the config file. */
const PROGRAMMATIC_KEYS = ["env", "configDir", "configPassphrase", "readyTimeoutMs"] as const;

/**
 * What `createGcpProvider` works from: the options it was given (the admin's
 * config file section and flags) over the `SUPPORT_GCP_*` environment. Checks the
 * given options as the config file section, so a typo there is reported by name.
 */
export function effectiveGcpOptions(options: GcpProviderOptions): {
  options: GcpProviderOptions;
  problems: string[];
} {
  const env = options.env ?? process.env;
  const fileLike: Record<string, unknown> = { ...options };
  for (const key of PROGRAMMATIC_KEYS) delete fileLike[key];
  const problems: string[] = [];
  try {
    gcpOptionsFromConfigSection(dropUndefined(fileLike));
  } catch (err) {
    problems.push((err as Error).message);
  }
  return { options: mergeGcpOptions(gcpOptionsFromEnv(env), options, { env }), problems };
}

/** Later layers win: `mergeGcpOptions(fromFile, fromEnv, fromFlags)`. */
export function mergeGcpOptions(...layers: GcpProviderOptions[]): GcpProviderOptions {
  return Object.assign({}, ...layers.map(dropUndefined)) as GcpProviderOptions;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const USERNAME = /^[a-z_][a-z0-9_.-]{0,31}$/;

/**
 * Applies defaults and checks what can be checked without the network. Returns
 * the problems rather than throwing so preflight can list all of them at once.
 */
export function resolveGcpOptions(options: GcpProviderOptions): {
  resolved: ResolvedGcpOptions;
  problems: string[];
} {
  const problems: string[] = [];
  const env = options.env ?? {};
  const home = env.HOME || homedir();
  const configDir =
    options.configDir ?? join(env.XDG_CONFIG_HOME || join(home, ".config"), "support-tunnel");
  const zone = options.zone ?? DEFAULT_ZONE;
  if (!/^[a-z]+-[a-z]+\d+-[a-z]$/.test(zone)) {
    problems.push(`zone "${zone}" is not a GCP zone name (like us-central1-a)`);
  }
  const region = options.region ?? zone.replace(/-[a-z]$/, "");
  if (options.project !== undefined && !/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(options.project)) {
    problems.push(`project "${options.project}" is not a GCP project id`);
  }
  const wgPort = options.wgPort ?? DEFAULT_WG_PORT;
  if (!Number.isInteger(wgPort) || wgPort < 1 || wgPort > 65535) {
    problems.push(`wgPort must be a port number between 1 and 65535 (got ${options.wgPort})`);
  }
  const sshSourceRanges = options.sshSourceRanges ?? [];
  for (const range of sshSourceRanges) {
    try {
      parseCidr(range, false);
    } catch {
      problems.push(`sshSourceRanges: "${range}" is not an IPv4 CIDR like 203.0.113.0/24`);
    }
  }
  const sshUsername = options.sshUsername ?? "support";
  if (!USERNAME.test(sshUsername)) {
    problems.push(`sshUsername "${sshUsername}" is not a valid login name`);
  }
  const network = options.network ?? "default";
  if (!NAME.test(network) && !network.includes("/")) {
    problems.push(`network "${network}" is not a network name or self link`);
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  return {
    problems,
    resolved: {
      project: options.project,
      region,
      zone,
      machineType: options.machineType ?? DEFAULT_MACHINE_TYPE,
      network,
      subnetwork: options.subnetwork,
      backendUrl: options.backendUrl ?? `file://${join(configDir, "pulumi")}`,
      configPassphrase: options.configPassphrase ?? "",
      engineerSshPublicKey: options.engineerSshPublicKey?.trim(),
      sshUsername,
      osLogin: options.osLogin ?? false,
      sshSourceRanges,
      privateKeyPath: options.privateKeyPath ?? join(home, ".ssh", "id_ed25519"),
      wgPort,
      readyTimeoutMs,
      env,
    },
  };
}
