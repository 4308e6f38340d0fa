// The api deployment under Pulumi's mocks: what GCP would be asked to make, and
// the promises a reviewer cares about (no public database, no secret in plain
// sight, bounded scaling). Mocks are set before the program module is loaded.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import type { ApiDeploymentConfig } from "./api-deployment";

interface Registered {
  type: string;
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mock inputs are untyped JSON
  inputs: Record<string, any>;
}

const PROJECT = "support-tunnel-api";
const SECRET_ENV = ["DATABASE_URL", "SUPPORT_ENROLLMENT_SECRET", "SUPPORT_BOOTSTRAP_TOKEN"];

function config(overrides: Partial<ApiDeploymentConfig> = {}): ApiDeploymentConfig {
  return {
    image: "europe-west1-docker.pkg.dev/acme/support/api:1.0.0",
    region: "europe-west1",
    name: "support",
    minInstances: 1,
    maxInstances: 4,
    dbTier: "db-f1-micro",
    dbVersion: "POSTGRES_16",
    deletionProtection: true,
    apiSubnetCidr: "10.60.0.0/26",
    tunnelServerSubnetCidr: "10.60.1.0/24",
    wgPortRange: "51820",
    engineerSshRanges: ["203.0.113.0/24"],
    enableApis: true,
    ...overrides,
  };
}

/** How a secret looks on the wire to the engine (and so to the mocks). */
function isWireSecret(value: unknown): boolean {
  const v = value as Record<string, unknown> | null;
  return (
    v !== null &&
    typeof v === "object" &&
    v[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

async function setMocks(registered: Registered[]) {
  await pulumi.runtime.setMocks(
    {
      newResource(r) {
        registered.push({ type: r.type, name: r.name, inputs: r.inputs });
        const state: Record<string, unknown> = { ...r.inputs };
        if (r.type === "gcp:cloudrunv2/service:Service")
          state.uri = `https://${r.inputs.name}-abc-ew.a.run.app`;
        if (r.type === "gcp:sql/databaseInstance:DatabaseInstance") {
          state.name = r.name;
          state.privateIpAddress = "10.100.0.3";
        }
        if (r.type === "random:index/randomPassword:RandomPassword")
          state.result = "x".repeat(r.inputs.length);
        if (r.type === "gcp:serviceaccount/account:Account")
          state.email = `${r.inputs.accountId}@acme.iam.gserviceaccount.com`;
        return { id: `${r.name}-id`, state };
      },
      call: () => ({}),
    },
    PROJECT,
    "dev",
    false,
  );
}

async function deploy(overrides: Partial<ApiDeploymentConfig> = {}) {
  const registered: Registered[] = [];
  await setMocks(registered);
  const { deployApi } = await import("./api-deployment.js");
  const outputs = deployApi(config(overrides));
  const apiUrl = await valueOf(outputs.apiUrl);
  const byType = (t: string) => registered.filter((r) => r.type === t);
  return { outputs, apiUrl, registered, byType };
}

describe("api deployment on GCP", function () {
  // the first load of @pulumi/gcp takes a couple of seconds
  this.timeout(30_000);

  it("gives the database no public address, only one on our VPC through private services access", async () => {
    const { byType } = await deploy();
    const [db] = byType("gcp:sql/databaseInstance:DatabaseInstance");
    assert.ok(db);
    assert.equal(db.inputs.settings.ipConfiguration.ipv4Enabled, false);
    assert.equal(db.inputs.settings.ipConfiguration.privateNetwork, "support-vpc-id");
    assert.equal(db.inputs.databaseVersion, "POSTGRES_16");
    const [range] = byType("gcp:compute/globalAddress:GlobalAddress");
    assert.equal(range?.inputs.purpose, "VPC_PEERING");
    const [peering] = byType("gcp:servicenetworking/connection:Connection");
    assert.equal(peering?.inputs.service, "servicenetworking.googleapis.com");
  });

  it("gives Cloud Run its secrets from Secret Manager, never as plain values", async () => {
    const { byType } = await deploy();
    const [service] = byType("gcp:cloudrunv2/service:Service");
    const envs: {
      name: string;
      value?: string;
      valueSource?: { secretKeyRef: { secret: string } };
    }[] = service!.inputs.template.containers[0].envs;
    for (const name of SECRET_ENV) {
      const env = envs.find((e) => e.name === name);
      assert.ok(env, `${name} is set`);
      assert.equal(env.value, undefined, `${name} has no plain value`);
      assert.match(env.valueSource!.secretKeyRef.secret, /^support-/);
    }
    for (const env of envs.filter((e) => e.value !== undefined)) {
      assert.doesNotMatch(env.value!, /xxxxxxxx|postgres:\/\//, `${env.name} carries no secret`);
    }
    const secretIds = byType("gcp:secretmanager/secret:Secret").map((s) => s.inputs.secretId);
    for (const e of envs.filter((e) => e.valueSource)) {
      assert.ok(
        secretIds.includes(e.valueSource!.secretKeyRef.secret),
        `${e.name} names a secret we made`,
      );
    }
  });

  it("marks every secret value as a Pulumi secret, so state and previews never show it", async () => {
    const { outputs, registered } = await deploy();
    assert.equal(await pulumi.isSecret(outputs.bootstrapToken), true);
    const versions = registered.filter(
      (r) => r.type === "gcp:secretmanager/secretVersion:SecretVersion",
    );
    assert.deepEqual(versions.map((v) => v.name).sort(), [
      "support-bootstrap-token",
      "support-database-password",
      "support-database-url",
      "support-enrollment-secret",
    ]);
    for (const v of versions) {
      assert.ok(isWireSecret(v.inputs.secretData), `${v.name} travels as a secret`);
    }
    // the database URL built for the api points at the private address
    const url = versions.find((v) => v.name === "support-database-url")!.inputs.secretData.value;
    assert.match(url, /^postgres:\/\/support:x{32}@10\.100\.0\.3:5432\/support$/);
    const token = versions.find((v) => v.name === "support-bootstrap-token")!.inputs.secretData
      .value;
    assert.match(token, /^ste_[A-Za-z0-9_-]{43}$/);
    const [user] = registered.filter((r) => r.type === "gcp:sql/user:User");
    assert.ok(
      isWireSecret(user!.inputs.password),
      "the database user's password travels as a secret",
    );
  });

  it("lets only the api's service account read the secrets it needs", async () => {
    const { byType } = await deploy();
    const members = byType("gcp:secretmanager/secretIamMember:SecretIamMember");
    assert.equal(members.length, 3);
    for (const m of members) {
      assert.equal(m.inputs.role, "roles/secretmanager.secretAccessor");
      assert.equal(m.inputs.member, "serviceAccount:support-api@acme.iam.gserviceaccount.com");
    }
  });

  it("bounds Cloud Run scaling and checks the api's health endpoints", async () => {
    const { byType } = await deploy({ minInstances: 0, maxInstances: 7 });
    const [service] = byType("gcp:cloudrunv2/service:Service");
    const template = service!.inputs.template;
    assert.deepEqual(template.scaling, { minInstanceCount: 0, maxInstanceCount: 7 });
    const container = template.containers[0];
    assert.equal(container.image, "europe-west1-docker.pkg.dev/acme/support/api:1.0.0");
    assert.equal(container.startupProbe.httpGet.path, "/readyz");
    assert.equal(container.livenessProbe.httpGet.path, "/healthz");
    assert.equal(container.ports.containerPort, 8080);
    const names = (container.envs as { name: string }[]).map((e) => e.name);
    assert.ok(!names.includes("PORT"), "PORT is reserved by Cloud Run, which sets it itself");
    assert.equal(template.vpcAccess.egress, "PRIVATE_RANGES_ONLY");
    assert.equal(template.vpcAccess.networkInterfaces[0].subnetwork, "support-api");
  });

  it("opens tunnel servers to WireGuard from anywhere and SSH only from the engineers", async () => {
    const { byType } = await deploy({
      wgPortRange: "51820-51829",
      engineerSshRanges: ["198.51.100.0/28"],
    });
    const rules = byType("gcp:compute/firewall:Firewall");
    assert.equal(rules.length, 2);
    const wg = rules.find((r) => r.inputs.allows[0].protocol === "udp")!;
    const ssh = rules.find((r) => r.inputs.allows[0].protocol === "tcp")!;
    assert.deepEqual(wg.inputs.allows, [{ protocol: "udp", ports: ["51820-51829"] }]);
    assert.deepEqual(wg.inputs.sourceRanges, ["0.0.0.0/0"]);
    assert.deepEqual(ssh.inputs.allows, [{ protocol: "tcp", ports: ["22"] }]);
    assert.deepEqual(ssh.inputs.sourceRanges, ["198.51.100.0/28"]);
    for (const r of rules) assert.deepEqual(r.inputs.targetTags, ["support-tunnel-server"]);
  });

  it("exports the api URL and the network and subnet tunnel servers use", async () => {
    const { apiUrl, outputs } = await deploy();
    assert.equal(apiUrl, "https://support-api-abc-ew.a.run.app");
    assert.equal(await valueOf(outputs.tunnelServerNetwork), "support-vpc");
    assert.equal(await valueOf(outputs.tunnelServerSubnet), "support-servers");
  });

  it("runs as a Pulumi project from the stack configuration, exporting apiUrl", async () => {
    const registered: Registered[] = [];
    await setMocks(registered);
    pulumi.runtime.setAllConfig({
      [`${PROJECT}:image`]: "europe-west1-docker.pkg.dev/acme/support/api:2.0.0",
      [`${PROJECT}:region`]: "europe-west1",
      [`${PROJECT}:engineerSshRanges`]: JSON.stringify(["203.0.113.0/24"]),
      [`${PROJECT}:minInstances`]: "2",
    });
    try {
      const program = await import("./index.js");
      assert.equal(await valueOf(program.apiUrl), "https://support-api-abc-ew.a.run.app");
      const service = registered.find((r) => r.type === "gcp:cloudrunv2/service:Service")!;
      assert.deepEqual(service.inputs.template.scaling, {
        minInstanceCount: 2,
        maxInstanceCount: 4,
      });
    } finally {
      pulumi.runtime.setAllConfig({});
    }
  });

  it("lists every bad stack setting at once", async () => {
    const { configProblems } = await import("./api-deployment.js");
    const problems = configProblems(
      config({
        minInstances: 5,
        maxInstances: 2,
        engineerSshRanges: [],
        apiSubnetCidr: "10.60.0.0",
      }),
    );
    assert.equal(problems.length, 3);
    assert.match(problems.join("\n"), /minInstances \(5\) is more than maxInstances \(2\)/);
    assert.match(problems.join("\n"), /engineerSshRanges/);
    assert.match(problems.join("\n"), /apiSubnetCidr/);
  });

  it("documents every stack setting in Pulumi.yaml and declares no secret there", () => {
    const project = parse(readFileSync(join(__dirname, "..", "Pulumi.yaml"), "utf8"));
    assert.equal(project.name, PROJECT);
    assert.equal(project.main, "dist/index.js");
    const keys = Object.keys(project.config as object).sort();
    assert.deepEqual(keys, Object.keys(config()).sort());
    for (const key of keys) {
      assert.doesNotMatch(key, /password|secret|token|key/i, `${key} is not a secret`);
      assert.ok(project.config[key].description, `${key} is described`);
    }
  });
});
