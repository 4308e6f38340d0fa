// Picks the provider by name. gcp lives in its own module, loaded only when
// asked for, so the other providers work without the cloud SDK configured.
import type { ProviderName } from "@support-tunnel/common";
import type { ResolvedConfig } from "../config";
import { CliError, ExitCode } from "../errors";
import type { EngineerIdentity } from "../identity";
import { openLab } from "../lab-backend";
import { NetnsProvider } from "./netns";
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
      return loadGcpProvider(settings);
    default:
      throw new CliError(
        `unknown provider ${JSON.stringify(name)}: use netns, ssh or gcp`,
        ExitCode.Usage,
      );
  }
}

interface GcpModule {
  createGcpProvider(options: unknown): TunnelServerProvider;
}

function loadGcpProvider(settings: ProviderSettings): TunnelServerProvider {
  let mod: GcpModule;
  try {
    // Resolved at run time: the gcp provider is a separate piece of work.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require("./gcp") as GcpModule;
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" &&
      (err as Error).message.includes("'./gcp'")
    ) {
      throw new CliError(
        "gcp provider not available: admin/src/providers/gcp (createGcpProvider) is not built into this CLI yet; use --provider netns or ssh",
        ExitCode.Usage,
      );
    }
    throw err;
  }
  return mod.createGcpProvider({
    ...(settings.config.file?.gcp ?? {}),
    configDir: settings.config.dir,
    privateKeyPath: settings.identity.privateKeyPath,
    engineerSshPublicKey: settings.identity.publicKey,
    env: settings.env,
  });
}
