// The gcp provider: one Pulumi stack per tunnel, holding a VM that deletes itself
// at the tunnel's expiry. Whatever goes wrong during `obtain`, what was made is
// destroyed before the error reaches the engineer.
import type { TunnelId } from "@support-tunnel/common";
import { interfaceName } from "@support-tunnel/common";
import type { ObtainServerRequest, TunnelServer, TunnelServerProvider } from "../provider";
import { type AutomationAdapter, PulumiAutomation, pulumiErrorSummary } from "./automation";
import { loadProgram } from "./lazy";
import { GcloudInventory, type InstanceInventory } from "./inventory";
import {
  effectiveGcpOptions,
  type GcpProviderOptions,
  type ResolvedGcpOptions,
  resolveGcpOptions,
} from "./options";
import { engineerPublicKey, findOnPath, gcpPreflightProblems } from "./preflight";
import type { TunnelServerProgramArgs } from "./program";
import { maxRunSeconds, serverName, stackNameFor } from "./names";
import { OpenSshProbe, type ServerProbe, sleep, waitForServer } from "./readiness";

export type { GcpProviderOptions } from "./options";
export {
  gcpOptionsFromEnv,
  gcpOptionsFromConfigSection,
  mergeGcpOptions,
  resolveGcpOptions,
} from "./options";
export type { AutomationAdapter } from "./automation";
export type { ServerProbe } from "./readiness";
export type { InstanceInventory } from "./inventory";

/** Pulumi project name of the per-tunnel stacks in the backend. */
export const PULUMI_PROJECT = "support-tunnel-server";

/** Side effects, swappable in tests. */
export interface GcpProviderDependencies {
  automation: AutomationAdapter;
  probe: ServerProbe;
  inventory: InstanceInventory | null;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class GcpProviderError extends Error {
  override name = "GcpProviderError";
}

export function createGcpProvider(
  options: GcpProviderOptions,
  deps: Partial<GcpProviderDependencies> = {},
): TunnelServerProvider {
  const effective = effectiveGcpOptions(options);
  const { resolved, problems } = resolveGcpOptions(effective.options);
  problems.unshift(...effective.problems);
  const full: GcpProviderDependencies = {
    automation:
      deps.automation ??
      new PulumiAutomation({
        projectName: PULUMI_PROJECT,
        backendUrl: resolved.backendUrl,
        configPassphrase: resolved.configPassphrase,
        env: resolved.env,
      }),
    probe: deps.probe ?? new OpenSshProbe(),
    inventory:
      deps.inventory !== undefined
        ? deps.inventory
        : findOnPath("gcloud", resolved.env)
          ? new GcloudInventory(resolved.env)
          : null,
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? sleep,
  };
  return new GcpProvider(resolved, problems, full);
}

class GcpProvider implements TunnelServerProvider {
  readonly name = "gcp" as const;

  constructor(
    private readonly options: ResolvedGcpOptions,
    private readonly optionProblems: string[],
    private readonly deps: GcpProviderDependencies,
  ) {}

  async preflight(): Promise<void> {
    const missing = gcpPreflightProblems(this.options, this.optionProblems);
    if (missing.length) {
      throw new GcpProviderError(`the gcp provider cannot start:\n  - ${missing.join("\n  - ")}`);
    }
  }

  programArgs(tunnelId: TunnelId, expiresAt: Date): TunnelServerProgramArgs {
    const o = this.options;
    let access: TunnelServerProgramArgs["access"];
    if (o.osLogin) {
      access = { kind: "os-login" };
    } else {
      const { key, problem } = engineerPublicKey(o);
      if (!key) throw new GcpProviderError(`the gcp provider needs ${problem}`);
      access = { kind: "ssh-key", username: o.sshUsername, publicKey: key };
    }
    return {
      tunnelId,
      project: o.project,
      region: o.region,
      zone: o.zone,
      machineType: o.machineType,
      network: o.network,
      subnetwork: o.subnetwork,
      wgPort: o.wgPort,
      maxRunSeconds: maxRunSeconds(expiresAt, new Date(this.deps.now())),
      sshSourceRanges: o.sshSourceRanges,
      access,
    };
  }

  async obtain(request: ObtainServerRequest): Promise<TunnelServer> {
    const { tunnelId, onProgress, signal } = request;
    if (request.expiresAt.getTime() <= this.deps.now()) {
      throw new GcpProviderError(`tunnel ${tunnelId} has already expired`);
    }
    const args = this.programArgs(tunnelId, request.expiresAt);
    const stackName = stackNameFor(tunnelId);
    const { automation } = this.deps;
    onProgress?.(
      `creating ${this.options.machineType} VM ${serverName(tunnelId)} in ${this.options.zone} (deletes itself in ${args.maxRunSeconds} s)`,
    );
    try {
      const outputs = await automation.up(
        stackName,
        async () => {
          // Loaded only here: @pulumi/gcp is large and most commands never need it.
          return loadProgram().tunnelServerProgram(args);
        },
        { signal, onOutput: pulumiLines(onProgress) },
      );
      const publicIp = typeof outputs.publicIp === "string" ? outputs.publicIp : "";
      const instanceName = typeof outputs.instanceName === "string" ? outputs.instanceName : "";
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(publicIp) || !instanceName) {
        throw new GcpProviderError(`the VM came up without a public IPv4 address`);
      }
      const ssh = {
        host: publicIp,
        port: 22,
        username: this.options.sshUsername,
        privateKeyPath: this.options.privateKeyPath,
      };
      onProgress?.(`VM ${instanceName} has address ${publicIp}; waiting for it to finish booting`);
      const hostKey = await waitForServer(ssh, this.deps, {
        timeoutMs: this.options.readyTimeoutMs,
        onProgress,
        signal,
      });
      return {
        instanceId: instanceName,
        provider: "gcp",
        publicIp,
        wgPort: this.options.wgPort,
        interfaceName: interfaceName(tunnelId, "server"),
        ssh: { ...ssh, hostKey },
      };
    } catch (err) {
      onProgress?.(`creating the server failed; removing what was made`);
      const cleanup = await this.removeStack(stackName, onProgress).then(
        () => null,
        (e: unknown) => pulumiErrorSummary(e),
      );
      const reason = pulumiErrorSummary(err);
      throw new GcpProviderError(
        cleanup === null
          ? `gcp: could not make a tunnel server: ${reason}`
          : `gcp: could not make a tunnel server: ${reason}; cleaning up failed too (${cleanup}): run \`support gc\`, or look for VM ${serverName(tunnelId)} in project ${this.options.project} and delete it`,
        { cause: err },
      );
    }
  }

  private async removeStack(stackName: string, onProgress?: (m: string) => void): Promise<boolean> {
    const existed = await this.deps.automation.destroy(stackName, {
      onOutput: pulumiLines(onProgress),
    });
    await this.deps.automation.removeStack(stackName);
    return existed;
  }

  async destroy(server: Pick<TunnelServer, "instanceId"> & { tunnelId: TunnelId }): Promise<void> {
    const existed = await this.removeStack(stackNameFor(server.tunnelId));
    if (existed) return;
    // No stack (another engineer's backend, or lost state), but `list` may have
    // found the VM by its label: delete that VM, and only one carrying this tunnel's label.
    const { inventory } = this.deps;
    const project = this.options.project;
    if (!inventory || !project) return;
    const tunnelId = server.tunnelId.toLowerCase();
    const leftovers = (await inventory.listServers(project)).filter((s) => s.tunnelId === tunnelId);
    for (const vm of leftovers) await inventory.deleteServer(project, vm);
  }

  async list(): Promise<{ instanceId: string; tunnelId: TunnelId }[]> {
    if (this.deps.inventory && this.options.project) {
      const instances = await this.deps.inventory.listServers(this.options.project);
      return instances.map((i) => ({ instanceId: i.name, tunnelId: i.tunnelId as TunnelId }));
    }
    // Without gcloud: the stacks in our backend are the servers we made.
    const stacks = await this.deps.automation.listStacks();
    return stacks
      .map((name) => /^tunnel-([0-9a-f-]{36})$/.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .map((id) => ({ instanceId: serverName(id), tunnelId: id as TunnelId }));
  }
}

/** Pulumi's output as progress lines, without the blank ones. */
function pulumiLines(onProgress?: (m: string) => void): ((out: string) => void) | undefined {
  if (!onProgress) return undefined;
  return (out) => {
    for (const line of out.split("\n")) if (line.trim()) onProgress(`pulumi: ${line.trimEnd()}`);
  };
}
