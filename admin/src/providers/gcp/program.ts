// The Pulumi program for one tunnel server: a Debian VM with a public address that
// deletes itself at the tunnel's expiry, and firewall rules that admit only the
// tunnel's WireGuard port (from anywhere: the device is behind an unknown NAT) and
// SSH from the engineers' ranges. Pure: everything comes in through `args`.
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { renderStartupScript } from "./startup-script";
import { DEBIAN_IMAGE, SERVER_LABEL, SERVER_TAG, TUNNEL_ID_LABEL, serverName } from "./names";

export {
  DEBIAN_IMAGE,
  MIN_RUN_SECONDS,
  SERVER_LABEL,
  SERVER_TAG,
  TUNNEL_ID_LABEL,
  maxRunSeconds,
  serverName,
  stackNameFor,
} from "./names";

export interface TunnelServerProgramArgs {
  tunnelId: string;
  project?: string;
  region: string;
  zone: string;
  machineType: string;
  network: string;
  subnetwork?: string;
  wgPort: number;
  /** Seconds until the tunnel expires; GCP deletes the VM when they run out. */
  maxRunSeconds: number;
  sshSourceRanges: string[];
  /** `{ username, publicKey }` for ssh-keys metadata, or OS Login. */
  access: { kind: "ssh-key"; username: string; publicKey: string } | { kind: "os-login" };
}

export interface TunnelServerProgramOutputs {
  instanceName: pulumi.Output<string>;
  publicIp: pulumi.Output<string>;
  zone: pulumi.Output<string>;
}

export function tunnelServerProgram(args: TunnelServerProgramArgs): TunnelServerProgramOutputs {
  const name = serverName(args.tunnelId);
  const tag = name;
  const provider = new gcp.Provider(`${name}-provider`, {
    project: args.project,
    region: args.region,
    zone: args.zone,
  });
  const opts = { provider };
  const labels = {
    [SERVER_LABEL.key]: SERVER_LABEL.value,
    [TUNNEL_ID_LABEL]: args.tunnelId.toLowerCase(),
  };

  const wgRule = new gcp.compute.Firewall(
    `${name}-wg`,
    {
      name: `${name}-wg`,
      description: `WireGuard for support tunnel ${args.tunnelId}`,
      network: args.network,
      direction: "INGRESS",
      priority: 1000,
      allows: [{ protocol: "udp", ports: [String(args.wgPort)] }],
      sourceRanges: ["0.0.0.0/0"],
      targetTags: [tag],
    },
    opts,
  );
  const sshRule = new gcp.compute.Firewall(
    `${name}-ssh`,
    {
      name: `${name}-ssh`,
      description: `SSH from engineers for support tunnel ${args.tunnelId}`,
      network: args.network,
      direction: "INGRESS",
      priority: 1000,
      allows: [{ protocol: "tcp", ports: ["22"] }],
      sourceRanges: args.sshSourceRanges,
      targetTags: [tag],
    },
    opts,
  );
  // The `default` network ships `default-allow-ssh` (and RDP, ICMP) from anywhere
  // at priority 65534; this deny beats those for our VM only, so the two rules
  // above are all that reaches it whichever network it lands on.
  const denyRule = new gcp.compute.Firewall(
    `${name}-deny`,
    {
      name: `${name}-deny`,
      description: `Everything else to support tunnel ${args.tunnelId}`,
      network: args.network,
      direction: "INGRESS",
      priority: 65000,
      denies: [{ protocol: "all" }],
      sourceRanges: ["0.0.0.0/0"],
      targetTags: [tag],
    },
    opts,
  );

  const metadata: Record<string, string> =
    args.access.kind === "os-login"
      ? { "enable-oslogin": "TRUE" }
      : {
          "enable-oslogin": "FALSE",
          "ssh-keys": `${args.access.username}:${args.access.publicKey}`,
        };

  const instance = new gcp.compute.Instance(
    name,
    {
      name,
      zone: args.zone,
      machineType: args.machineType,
      description: `support-tunnel server for tunnel ${args.tunnelId}`,
      labels,
      tags: [SERVER_TAG, tag],
      bootDisk: {
        autoDelete: true,
        initializeParams: { image: DEBIAN_IMAGE, size: 10, type: "pd-standard", labels },
      },
      networkInterfaces: [
        {
          network: args.network,
          subnetwork: args.subnetwork,
          // An empty access config asks for an ephemeral public address.
          accessConfigs: [{}],
        },
      ],
      metadata: { ...metadata, "block-project-ssh-keys": "TRUE" },
      metadataStartupScript: renderStartupScript(),
      scheduling: {
        provisioningModel: "STANDARD",
        maxRunDuration: { seconds: args.maxRunSeconds },
        instanceTerminationAction: "DELETE",
      },
      canIpForward: false,
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true },
      allowStoppingForUpdate: true,
    },
    { ...opts, dependsOn: [wgRule, sshRule, denyRule] },
  );

  return {
    instanceName: instance.name,
    zone: instance.zone,
    publicIp: instance.networkInterfaces.apply((nics) => nics[0]?.accessConfigs?.[0]?.natIp ?? ""),
  };
}
