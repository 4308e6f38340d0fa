// The api on GCP: Cloud Run running the api image, Cloud SQL for PostgreSQL
// reachable only on a private address, Secret Manager for every secret, and the
// VPC the tunnel servers live in with the firewall rules they need. Pure in the
// Pulumi sense: everything comes from `config`, so tests run it under mocks.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

export interface ApiDeploymentConfig {
  /** Container image of the api, e.g. `europe-west1-docker.pkg.dev/acme/support/api:1.0.0`. */
  image: string;
  region: string;
  /** Prefix of every resource name. */
  name: string;
  minInstances: number;
  maxInstances: number;
  dbTier: string;
  dbVersion: string;
  /** Refuse `pulumi destroy` of the database (and the service) until turned off. */
  deletionProtection: boolean;
  /** CIDR of the subnet Cloud Run sends its VPC traffic from (Direct VPC egress, /26 or larger). */
  apiSubnetCidr: string;
  /** CIDR of the subnet the tunnel servers get their internal addresses from. */
  tunnelServerSubnetCidr: string;
  /** UDP ports tunnel servers may listen on for WireGuard: `51820` or `51820-51919`. */
  wgPortRange: string;
  /** Where engineers SSH to tunnel servers from. Never defaults to the world. */
  engineerSshRanges: string[];
  /** Turn on the GCP APIs this needs (a fresh project has them off). */
  enableApis: boolean;
}

export const SERVICE_APIS = [
  "compute.googleapis.com",
  "run.googleapis.com",
  "sqladmin.googleapis.com",
  "secretmanager.googleapis.com",
  "servicenetworking.googleapis.com",
] as const;

/** Network tag every tunnel server carries (see admin/src/providers/gcp/names.ts). */
export const TUNNEL_SERVER_TAG = "support-tunnel-server";
export const API_PORT = 8080;
const DB_NAME = "support";
const DB_USER = "support";

export interface ApiDeploymentOutputs {
  apiUrl: pulumi.Output<string>;
  tunnelServerNetwork: pulumi.Output<string>;
  tunnelServerSubnet: pulumi.Output<string>;
  databaseInstance: pulumi.Output<string>;
  serviceAccount: pulumi.Output<string>;
  bootstrapTokenSecret: pulumi.Output<string>;
  /** The first admin's engineer token; `pulumi stack output bootstrapToken --show-secrets`. */
  bootstrapToken: pulumi.Output<string>;
}

export function deployApi(config: ApiDeploymentConfig): ApiDeploymentOutputs {
  const n = config.name;
  const labels = { app: "support-tunnel", component: "api" };

  const apis = config.enableApis
    ? SERVICE_APIS.map(
        (service) =>
          new gcp.projects.Service(`${n}-${service.split(".")[0]}`, {
            service,
            // other things in the project may use them too
            disableOnDestroy: false,
          }),
      )
    : [];
  const afterApis = { dependsOn: apis };

  // --- network: one VPC for the api's egress and for the tunnel servers
  const network = new gcp.compute.Network(
    `${n}-vpc`,
    { name: `${n}-vpc`, autoCreateSubnetworks: false, description: "support-tunnel" },
    afterApis,
  );
  const apiSubnet = new gcp.compute.Subnetwork(`${n}-api`, {
    name: `${n}-api`,
    network: network.id,
    region: config.region,
    ipCidrRange: config.apiSubnetCidr,
    privateIpGoogleAccess: true,
  });
  const serverSubnet = new gcp.compute.Subnetwork(`${n}-servers`, {
    name: `${n}-servers`,
    network: network.id,
    region: config.region,
    ipCidrRange: config.tunnelServerSubnetCidr,
    privateIpGoogleAccess: true,
  });

  // A custom VPC denies all ingress by default; these two rules are all a tunnel
  // server admits: WireGuard from anywhere (devices sit behind unknown NATs) and
  // SSH only from the engineers.
  new gcp.compute.Firewall(`${n}-servers-wg`, {
    name: `${n}-servers-wg`,
    network: network.id,
    direction: "INGRESS",
    allows: [{ protocol: "udp", ports: [config.wgPortRange] }],
    sourceRanges: ["0.0.0.0/0"],
    targetTags: [TUNNEL_SERVER_TAG],
    description: "WireGuard to support-tunnel servers",
  });
  new gcp.compute.Firewall(`${n}-servers-ssh`, {
    name: `${n}-servers-ssh`,
    network: network.id,
    direction: "INGRESS",
    allows: [{ protocol: "tcp", ports: ["22"] }],
    sourceRanges: config.engineerSshRanges,
    targetTags: [TUNNEL_SERVER_TAG],
    description: "SSH from support engineers to support-tunnel servers",
  });

  // --- private services access: Cloud SQL gets an address inside our VPC only
  const peeringRange = new gcp.compute.GlobalAddress(
    `${n}-sql-range`,
    {
      name: `${n}-sql-range`,
      purpose: "VPC_PEERING",
      addressType: "INTERNAL",
      prefixLength: 20,
      network: network.id,
    },
    afterApis,
  );
  const peering = new gcp.servicenetworking.Connection(`${n}-sql-peering`, {
    network: network.id,
    service: "servicenetworking.googleapis.com",
    reservedPeeringRanges: [peeringRange.name],
    // Google keeps the peering busy for a while after Cloud SQL is deleted, which
    // would fail `pulumi destroy`; the network's deletion removes it anyway.
    deletionPolicy: "ABANDON",
  });

  // --- database
  const db = new gcp.sql.DatabaseInstance(
    `${n}-db`,
    {
      databaseVersion: config.dbVersion,
      region: config.region,
      deletionProtection: config.deletionProtection,
      settings: {
        tier: config.dbTier,
        edition: "ENTERPRISE",
        availabilityType: "ZONAL",
        deletionProtectionEnabled: config.deletionProtection,
        userLabels: labels,
        ipConfiguration: {
          // no public address at all: only the VPC (and so Cloud Run's egress) reaches it
          ipv4Enabled: false,
          privateNetwork: network.id,
          enablePrivatePathForGoogleCloudServices: false,
        },
        backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true },
        insightsConfig: { queryInsightsEnabled: true },
      },
    },
    { dependsOn: [peering, ...apis] },
  );
  const database = new gcp.sql.Database(`${n}-db-support`, {
    name: DB_NAME,
    instance: db.name,
    deletionPolicy: "ABANDON",
  });

  // Alphanumeric so it can sit in a URL unescaped.
  const dbPassword = new random.RandomPassword(`${n}-db-password`, { length: 32, special: false });
  new gcp.sql.User(`${n}-db-user`, {
    name: DB_USER,
    instance: db.name,
    password: dbPassword.result,
    // PostgreSQL refuses to drop a role that owns tables; the instance goes anyway
    deletionPolicy: "ABANDON",
  });
  // The private network carries no SSL by default: the address is reachable only
  // inside our VPC, which Google encrypts between its facilities.
  const databaseUrl = pulumi.secret(
    pulumi.interpolate`postgres://${DB_USER}:${dbPassword.result}@${db.privateIpAddress}:5432/${database.name}`,
  );

  const enrollmentSecret = new random.RandomPassword(`${n}-enrollment-secret`, {
    length: 48,
    special: false,
  });
  // `ste_` + 43 base64url characters: the shape of an engineer token.
  const bootstrapSuffix = new random.RandomPassword(`${n}-bootstrap-token`, {
    length: 43,
    special: true,
    overrideSpecial: "-_",
  });
  const bootstrapToken = pulumi.secret(pulumi.interpolate`ste_${bootstrapSuffix.result}`);

  // --- identity of the api, allowed to read its secrets and nothing else
  const account = new gcp.serviceaccount.Account(
    `${n}-sa`,
    { accountId: `${n}-api`.slice(0, 30), displayName: "support-tunnel api" },
    afterApis,
  );

  const secret = (key: string, value: pulumi.Output<string>, readByApi: boolean) => {
    const s = new gcp.secretmanager.Secret(
      `${n}-${key}`,
      { secretId: `${n}-${key}`, replication: { auto: {} }, labels },
      afterApis,
    );
    const version = new gcp.secretmanager.SecretVersion(`${n}-${key}`, {
      secret: s.id,
      secretData: pulumi.secret(value),
    });
    const access = readByApi
      ? [
          new gcp.secretmanager.SecretIamMember(`${n}-${key}-api`, {
            secretId: s.id,
            role: "roles/secretmanager.secretAccessor",
            member: pulumi.interpolate`serviceAccount:${account.email}`,
          }),
        ]
      : [];
    return { secret: s, version, access };
  };
  const secrets = {
    DATABASE_URL: secret("database-url", databaseUrl, true),
    SUPPORT_ENROLLMENT_SECRET: secret("enrollment-secret", enrollmentSecret.result, true),
    SUPPORT_BOOTSTRAP_TOKEN: secret("bootstrap-token", bootstrapToken, true),
  };
  // Kept for operators (psql through a bastion); the api itself reads only the URL.
  secret("database-password", dbPassword.result, false);

  const service = new gcp.cloudrunv2.Service(
    `${n}-api`,
    {
      name: `${n}-api`,
      location: config.region,
      ingress: "INGRESS_TRAFFIC_ALL",
      deletionProtection: config.deletionProtection,
      labels,
      template: {
        serviceAccount: account.email,
        // devices and the CLI long-poll: keep many idle requests per instance
        maxInstanceRequestConcurrency: 250,
        timeout: "300s",
        scaling: { minInstanceCount: config.minInstances, maxInstanceCount: config.maxInstances },
        vpcAccess: {
          networkInterfaces: [{ network: network.name, subnetwork: apiSubnet.name }],
          egress: "PRIVATE_RANGES_ONLY",
        },
        containers: [
          {
            image: config.image,
            // the image's CMD runs `serve`, which applies pending migrations first
            ports: { containerPort: API_PORT },
            resources: {
              limits: { cpu: "1", memory: "512Mi" },
              // expiry sweeps run between requests: keep the CPU when idle
              cpuIdle: false,
              startupCpuBoost: true,
            },
            envs: [
              // (PORT is reserved: Cloud Run sets it from containerPort itself)
              // Google's front end adds exactly one X-Forwarded-For hop
              { name: "SUPPORT_TRUST_PROXY", value: "1" },
              { name: "LOG_LEVEL", value: "info" },
              ...Object.entries(secrets).map(([name, s]) => ({
                name,
                valueSource: { secretKeyRef: { secret: s.secret.secretId, version: "latest" } },
              })),
            ],
            startupProbe: {
              httpGet: { path: "/readyz", port: API_PORT },
              initialDelaySeconds: 2,
              periodSeconds: 5,
              timeoutSeconds: 3,
              failureThreshold: 24,
            },
            livenessProbe: {
              httpGet: { path: "/healthz", port: API_PORT },
              periodSeconds: 15,
              timeoutSeconds: 3,
              failureThreshold: 3,
            },
          },
        ],
      },
    },
    {
      dependsOn: [
        ...apis,
        ...Object.values(secrets).flatMap((s) => [s.version, ...s.access]),
        database,
      ],
    },
  );
  // The api authenticates every caller itself (device and engineer tokens).
  new gcp.cloudrunv2.ServiceIamMember(`${n}-api-public`, {
    name: service.name,
    location: config.region,
    role: "roles/run.invoker",
    member: "allUsers",
  });

  return {
    apiUrl: service.uri,
    tunnelServerNetwork: network.name,
    tunnelServerSubnet: serverSubnet.name,
    databaseInstance: db.name,
    serviceAccount: account.email,
    bootstrapTokenSecret: secrets.SUPPORT_BOOTSTRAP_TOKEN.secret.secretId,
    bootstrapToken,
  };
}

/** Every problem with a configuration, so an operator fixes them in one round. */
export function configProblems(c: ApiDeploymentConfig): string[] {
  const problems: string[] = [];
  const cidr = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
  if (!c.image.includes("/")) problems.push(`image: "${c.image}" is not a registry image path`);
  if (!Number.isInteger(c.minInstances) || !Number.isInteger(c.maxInstances)) {
    problems.push("minInstances and maxInstances must be whole numbers");
  } else if (c.minInstances > c.maxInstances) {
    problems.push(`minInstances (${c.minInstances}) is more than maxInstances (${c.maxInstances})`);
  }
  if (!Array.isArray(c.engineerSshRanges) || c.engineerSshRanges.length === 0) {
    problems.push("engineerSshRanges: list the CIDRs engineers SSH from (a JSON array)");
  } else {
    for (const r of c.engineerSshRanges) {
      if (typeof r !== "string" || !cidr.test(r))
        problems.push(`engineerSshRanges: "${r}" is not an IPv4 CIDR`);
    }
  }
  for (const key of ["apiSubnetCidr", "tunnelServerSubnetCidr"] as const) {
    if (!cidr.test(c[key])) problems.push(`${key}: "${c[key]}" is not an IPv4 CIDR`);
  }
  return problems;
}

/** Reads the stack configuration (`pulumi config set ...`), applying the documented defaults. */
export function readStackConfig(): ApiDeploymentConfig {
  const cfg = new pulumi.Config();
  const gcpCfg = new pulumi.Config("gcp");
  const region = cfg.get("region") ?? gcpCfg.require("region");
  const config: ApiDeploymentConfig = {
    image: cfg.require("image"),
    region,
    name: cfg.get("name", { pattern: /^[a-z][a-z0-9-]{1,14}$/ }) ?? "support",
    minInstances: cfg.getNumber("minInstances", { min: 0, max: 100 }) ?? 1,
    maxInstances: cfg.getNumber("maxInstances", { min: 1, max: 1000 }) ?? 4,
    dbTier: cfg.get("dbTier") ?? "db-f1-micro",
    dbVersion: cfg.get("dbVersion") ?? "POSTGRES_16",
    deletionProtection: cfg.getBoolean("deletionProtection") ?? true,
    apiSubnetCidr: cfg.get("apiSubnetCidr") ?? "10.60.0.0/26",
    tunnelServerSubnetCidr: cfg.get("tunnelServerSubnetCidr") ?? "10.60.1.0/24",
    wgPortRange: cfg.get("wgPortRange", { pattern: /^\d{1,5}(-\d{1,5})?$/ }) ?? "51820",
    engineerSshRanges: cfg.requireObject<string[]>("engineerSshRanges"),
    enableApis: cfg.getBoolean("enableApis") ?? true,
  };
  const problems = configProblems(config);
  if (problems.length) {
    throw new Error(`invalid stack configuration:\n  ${problems.join("\n  ")}`);
  }
  return config;
}
