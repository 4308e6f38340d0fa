// Finding tunnel servers by their label, whatever stack made them (or lost them):
// `support gc` must see a VM even when its Pulumi state is gone.
import { SERVER_LABEL, TUNNEL_ID_LABEL } from "./names";
import type { Env } from "./options";

export interface LabelledServer {
  name: string;
  tunnelId: string;
  zone: string;
}

export interface InstanceInventory {
  listServers(project: string): Promise<LabelledServer[]>;
  /** Deletes one VM `listServers` returned (its disk goes with it). */
  deleteServer(project: string, server: LabelledServer): Promise<void>;
}

/** Parses `gcloud compute instances list --format=json`, keeping only our servers. */
export function parseInstanceList(json: string): LabelledServer[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new Error("gcloud did not return a list of instances");
  const servers: LabelledServer[] = [];
  for (const item of parsed as {
    name?: unknown;
    zone?: unknown;
    labels?: Record<string, unknown>;
  }[]) {
    const labels = item.labels ?? {};
    const tunnelId = labels[TUNNEL_ID_LABEL];
    if (labels[SERVER_LABEL.key] !== SERVER_LABEL.value || typeof tunnelId !== "string") continue;
    if (typeof item.name !== "string") continue;
    servers.push({
      name: item.name,
      tunnelId,
      zone: typeof item.zone === "string" ? (item.zone.split("/").pop() ?? "") : "",
    });
  }
  return servers;
}

export class GcloudInventory implements InstanceInventory {
  constructor(private readonly env: Env) {}

  async listServers(project: string): Promise<LabelledServer[]> {
    const { execa } = await import("execa");
    const result = await execa(
      "gcloud",
      [
        "compute",
        "instances",
        "list",
        `--project=${project}`,
        `--filter=labels.${SERVER_LABEL.key}=${SERVER_LABEL.value}`,
        "--format=json(name,zone,labels)",
        "--quiet",
      ],
      { timeout: 60_000, env: { ...this.env }, extendEnv: false, reject: false },
    );
    if (result.exitCode !== 0) {
      throw new Error(
        `gcloud compute instances list failed: ${result.stderr.trim().split("\n").pop()}`,
      );
    }
    return parseInstanceList(result.stdout);
  }

  async deleteServer(project: string, server: LabelledServer): Promise<void> {
    const { execa } = await import("execa");
    const result = await execa(
      "gcloud",
      [
        "compute",
        "instances",
        "delete",
        server.name,
        `--project=${project}`,
        `--zone=${server.zone}`,
        "--quiet",
      ],
      { timeout: 300_000, env: { ...this.env }, extendEnv: false, reject: false },
    );
    if (result.exitCode !== 0 && !/was not found|notFound/.test(result.stderr)) {
      throw new Error(
        `gcloud compute instances delete ${server.name} failed: ${result.stderr.trim().split("\n").pop()}`,
      );
    }
  }
}
