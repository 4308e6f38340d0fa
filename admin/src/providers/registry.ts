// Picks the provider by name. The gcp provider loads Pulumi itself, only when it
// makes or removes a server, so the other providers never pay for the cloud SDK.
import type { ProviderName } from "@support-tunnel/common";
import type { ResolvedConfig } from "../config";
import { CliError, ExitCode } from "../errors";
import { resolveIdentity, type EngineerIdentity } from "../identity";
import { openLab } from "../lab-backend";
import { NetnsProvider } from "./netns";
import type { GcpProviderOptions } from "./gcp";
import type { TunnelServerProvider } from "./provider";
import { parseSshTarget, SshProvider } from "./ssh";

export interface ProviderSettings {
  config: ResolvedConfig;
  identity: EngineerIdentity;
  /** `--host` for ssh. */
  host?: string;
  /** `--lab` for netns. */
  lab?: string;
  /** Environment for the gcp provider's tools (pulumi, gcloud credentials). */
  env?: NodeJS.ProcessEnv;
}

/** Flags that say where servers are: `--lab`, `--host`, `--identity`. */
export interface ProviderFlags {
  lab?: string;
  host?: string;
  identity?: string;
}

/**
 * Provider by name, for create (named by `--provider`) and for stop and gc
 * (named by a server's record); the engineer's identity is resolved once
 * (by `identityOf` when given: create starts resolving it while the api answers).
 */
export async function providersFor(
  config: ResolvedConfig,
  env: NodeJS.ProcessEnv,
  flags: ProviderFlags,
  identityOf: () => Promise<EngineerIdentity> = () => resolveIdentity(config, flags.identity),
): Promise<(name: string) => TunnelServerProvider> {
  const identity = await identityOf();
  return (name) =>
    createProvider(name, { config, identity, host: flags.host, lab: flags.lab, env });
}

export function createProvider(name: string, settings: ProviderSettings): TunnelServerProvider {
  switch (name as ProviderName) {
    case "netns":
      return new NetnsProvider({
        lab: settings.lab ?? settings.config.lab,
        privateKeyPath: settings.identity.privateKeyPath,
        publicKey: settings.identity.publicKey,
        open: openLab,
      });
    case "ssh": {
      const host = settings.host ?? settings.config.file?.ssh?.host;
      return new SshProvider({
        target: host ? parseSshTarget(host) : undefined,
        privateKeyPath: settings.identity.privateKeyPath,
        knownHostsPath: settings.config.file?.ssh?.knownHosts,
      });
    }
    case "gcp":
      return gcpProvider(settings);
    default:
      throw new CliError(
        `unknown provider ${JSON.stringify(name)}: use netns, ssh or gcp`,
        ExitCode.Usage,
      );
  }
}

/** The gcp provider's modules load only for it (~8 ms of every other create otherwise). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadGcp = () => require("./gcp") as typeof import("./gcp");

function gcpProvider(settings: ProviderSettings): TunnelServerProvider {
  // The config file's section goes in unchecked: the provider validates it and
  // names a bad field in its preflight, with every other missing piece.
  const section = (settings.config.file?.gcp ?? {}) as GcpProviderOptions;
  return loadGcp().createGcpProvider({
    ...section,
    configDir: settings.config.dir,
    privateKeyPath: settings.identity.privateKeyPath,
    engineerSshPublicKey: settings.identity.publicKey,
    env: settings.env,
  });
}
