// What the gcp provider needs before it makes anything, checked in milliseconds
// without the network: the Pulumi CLI, GCP credentials, a project, the engineer's
// SSH key and ranges. Every missing piece is named in one error.
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { sshPublicKeySchema } from "@support-tunnel/common";
import type { Env, ResolvedGcpOptions } from "./options";

export const PULUMI_MISSING =
  "the gcp provider needs the Pulumi CLI: install it from https://www.pulumi.com/docs/install/ (pulumi not found on PATH)";

export function findOnPath(binary: string, env: Env): string | null {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Where GCP credentials come from, or null. Mirrors what the Pulumi gcp provider accepts. */
export function findGcpCredentials(env: Env): string | null {
  if (env.GOOGLE_CREDENTIALS?.trim()) return "GOOGLE_CREDENTIALS";
  if (env.GOOGLE_OAUTH_ACCESS_TOKEN?.trim()) return "GOOGLE_OAUTH_ACCESS_TOKEN";
  const file = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (file && existsSync(file)) return file;
  const gcloudDir = env.CLOUDSDK_CONFIG || (env.HOME ? join(env.HOME, ".config", "gcloud") : null);
  if (gcloudDir) {
    const adc = join(gcloudDir, "application_default_credentials.json");
    if (existsSync(adc)) return adc;
  }
  return null;
}

/** The engineer's public key line: given, or read from `<privateKeyPath>.pub`. */
export function engineerPublicKey(options: ResolvedGcpOptions): { key?: string; problem?: string } {
  let key = options.engineerSshPublicKey;
  let source = "engineerSshPublicKey";
  if (!key) {
    source = `${options.privateKeyPath}.pub`;
    try {
      key = readFileSync(source, "utf8").trim();
    } catch {
      return {
        problem: `an SSH public key for the VM: set engineerSshPublicKey (SUPPORT_GCP_SSH_PUBLIC_KEY) or create ${source} (ssh-keygen -t ed25519), or use osLogin`,
      };
    }
  }
  if (!sshPublicKeySchema.safeParse(key).success) {
    return { problem: `${source} is not one OpenSSH public key line` };
  }
  return { key };
}

/** Lists what is missing; empty when the provider can work. */
export function gcpPreflightProblems(
  options: ResolvedGcpOptions,
  problems: string[] = [],
): string[] {
  const missing = [...problems];
  if (!findOnPath("pulumi", options.env)) missing.unshift(PULUMI_MISSING);
  const sshTools = ["ssh", "ssh-keyscan"].filter((tool) => !findOnPath(tool, options.env));
  if (sshTools.length) {
    missing.push(
      `the OpenSSH client (${sshTools.join(", ")} not found on PATH): install openssh-client`,
    );
  }
  if (!findGcpCredentials(options.env)) {
    const gac = options.env.GOOGLE_APPLICATION_CREDENTIALS;
    missing.push(
      gac
        ? `GCP credentials: GOOGLE_APPLICATION_CREDENTIALS points at ${gac}, which does not exist`
        : "GCP credentials: run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file",
    );
  }
  if (!options.project) {
    missing.push("a GCP project: set gcp.project in the admin config or SUPPORT_GCP_PROJECT");
  }
  if (options.sshSourceRanges.length === 0) {
    missing.push(
      "the engineers' SSH source ranges: set SUPPORT_GCP_SSH_SOURCE_RANGES (e.g. 203.0.113.0/24) or gcp.sshSourceRanges in the admin config",
    );
  }
  if (!options.osLogin) {
    const { problem } = engineerPublicKey(options);
    if (problem) missing.push(problem);
  }
  if (!existsSync(options.privateKeyPath)) {
    missing.push(
      `the engineer's SSH private key ${options.privateKeyPath}: set privateKeyPath (SUPPORT_GCP_SSH_PRIVATE_KEY) or create it`,
    );
  }
  return missing;
}
