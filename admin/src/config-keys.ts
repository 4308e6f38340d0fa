// The keys `support config get/set/unset` know: each names where it lives in the
// config file, what it accepts, and turns the text typed into the stored value.
// Pure: the command reads and writes the file; this decides what a change is.
import { parseCidr, providerSchema } from "@support-tunnel/common";
import { z } from "zod";
import { labNameSchema, sshHostSchema, urlSchema, type AdminConfig } from "./config";
import { CliError, ExitCode } from "./errors";

export interface ConfigKey {
  /** What the engineer types: `provider`, `gcp.zone`. */
  name: string;
  /** Where it is in the file. */
  path: readonly [string] | readonly [string, string];
  /** The allowed values, said the way an error message says them. */
  allowed: string;
  /** The text typed, turned into the value stored; throws with nothing but a reason. */
  parse(text: string): unknown;
}

function bySchema(schema: z.ZodType): (text: string) => unknown {
  return (text) => {
    const parsed = schema.safeParse(text);
    if (!parsed.success) throw new Error(parsed.error.issues[0]!.message);
    return parsed.data;
  };
}

const nonEmpty = bySchema(z.string().min(1, "must not be empty"));

function gcpText(field: string, allowed = "a non-empty string"): ConfigKey {
  return { name: `gcp.${field}`, path: ["gcp", field], allowed, parse: nonEmpty };
}

export const CONFIG_KEYS: readonly ConfigKey[] = [
  { name: "api", path: ["apiUrl"], allowed: "an http or https URL", parse: bySchema(urlSchema) },
  {
    name: "provider",
    path: ["provider"],
    allowed: "gcp, ssh or netns",
    parse: bySchema(providerSchema),
  },
  {
    name: "identity",
    path: ["identity"],
    allowed: "the path of an SSH private key",
    parse: nonEmpty,
  },
  {
    name: "netns.lab",
    path: ["netns", "lab"],
    allowed: "a lab name (a lowercase letter, then up to 11 letters or digits)",
    parse: bySchema(labNameSchema),
  },
  {
    name: "ssh.host",
    path: ["ssh", "host"],
    allowed: "user@host or user@host:port",
    parse: bySchema(sshHostSchema),
  },
  {
    name: "ssh.knownHosts",
    path: ["ssh", "knownHosts"],
    allowed: "the path of a known_hosts file",
    parse: nonEmpty,
  },
  gcpText("project", "a GCP project id"),
  gcpText("region", "a GCP region, e.g. us-central1"),
  gcpText("zone", "a GCP zone, e.g. us-central1-a"),
  gcpText("machineType", "a machine type, e.g. e2-micro"),
  gcpText("network", "a VPC network name or self link"),
  gcpText("subnetwork", "a subnetwork name or self link"),
  gcpText("sshUsername", "a login name on the VM"),
  gcpText("backendUrl", "a Pulumi backend URL, e.g. gs://bucket"),
  {
    name: "gcp.osLogin",
    path: ["gcp", "osLogin"],
    allowed: "true or false",
    parse: (text) => {
      if (text === "true" || text === "false") return text === "true";
      throw new Error("must be true or false");
    },
  },
  {
    name: "gcp.sshSourceRanges",
    path: ["gcp", "sshSourceRanges"],
    allowed: "IPv4 CIDRs separated by commas, e.g. 203.0.113.0/24,198.51.100.7/32",
    parse: (text) => {
      const ranges = text.split(",").map((s) => s.trim());
      for (const range of ranges) parseCidr(range, false);
      return ranges;
    },
  },
  {
    name: "gcp.wgPort",
    path: ["gcp", "wgPort"],
    allowed: "a UDP port, 1 to 65535",
    parse: (text) => {
      const port = Number(text);
      if (!/^[0-9]+$/.test(text) || port < 1 || port > 65535)
        throw new Error("must be a whole number from 1 to 65535");
      return port;
    },
  },
];

export const CONFIG_KEY_NAMES = CONFIG_KEYS.map((k) => k.name);

/** The key by name, or a usage error listing every key. */
export function configKey(name: string): ConfigKey {
  const key = CONFIG_KEYS.find((k) => k.name === name);
  if (key) return key;
  const hint =
    name === "token" ? "; the token is stored by `support login`, never typed in argv" : "";
  throw new CliError(
    `unknown config key ${JSON.stringify(name)}: the keys are ${CONFIG_KEY_NAMES.join(", ")}${hint}`,
    ExitCode.Usage,
  );
}

type Sections = Record<string, unknown>;

/** The key's value in the file, or undefined. */
export function configValue(config: AdminConfig | null, key: ConfigKey): unknown {
  const [first, second] = key.path;
  const top = (config as Sections | null)?.[first];
  if (second === undefined) return top;
  return (top as Sections | undefined)?.[second];
}

/** The value as `get` prints it: lists joined by commas, as `set` takes them. */
export function formatConfigValue(value: unknown): string {
  return Array.isArray(value) ? value.join(",") : String(value);
}

/** The config with `key` set from `text`; a bad value is a usage error naming the key and what it takes. */
export function withConfigValue(
  config: AdminConfig | null,
  key: ConfigKey,
  text: string,
): AdminConfig {
  let value: unknown;
  try {
    value = key.parse(text);
  } catch {
    throw new CliError(
      `config ${key.name} cannot be ${JSON.stringify(text)}: it takes ${key.allowed}`,
      ExitCode.Usage,
    );
  }
  return place(config, key, value);
}

/** The config without `key`; a section left empty goes too. */
export function withoutConfigValue(config: AdminConfig | null, key: ConfigKey): AdminConfig {
  return place(config, key, undefined);
}

function place(config: AdminConfig | null, key: ConfigKey, value: unknown): AdminConfig {
  const next: Sections = { ...(config ?? {}) };
  const [first, second] = key.path;
  if (second === undefined) {
    if (value === undefined) delete next[first];
    else next[first] = value;
  } else {
    const section: Sections = { ...((next[first] as Sections | undefined) ?? {}) };
    if (value === undefined) delete section[second];
    else section[second] = value;
    if (Object.keys(section).length === 0) delete next[first];
    else next[first] = section;
  }
  // Checked as a whole by writeConfigFile before it is stored.
  return next;
}
