// The GCP issue's promise, through the real binary against the real api: with no
// Pulumi CLI and no credentials, `support create --provider gcp` fails within
// seconds naming what is missing, and the tunnel stays pending with nothing made.
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import {
  generateKeyPair,
  generatePresharedKey,
  SupportApiClient,
  TunnelState,
} from "@support-tunnel/common";
import { startApiProcess, type ApiProcess } from "@support-tunnel/lab";
import {
  createTestDatabase,
  missingPostgres,
  requirePrerequisite,
  type TestDatabase,
} from "@support-tunnel/testkit";
import { execa } from "execa";

const SUPPORT_BIN = resolve(__dirname, "..", "..", "bin.js");

describe("support create --provider gcp without Pulumi or credentials", function () {
  this.timeout(120_000);
  let db: TestDatabase | undefined;
  let api: ApiProcess | undefined;
  let home: string;
  const token = `ste_${randomBytes(32).toString("base64url")}`;

  before(async function () {
    requirePrerequisite(this, await missingPostgres());
    db = await createTestDatabase();
    api = await startApiProcess({
      databaseUrl: db.url,
      env: { SUPPORT_BOOTSTRAP_TOKEN: token, LOG_LEVEL: "warn" },
    });
    home = await mkdtemp(join(tmpdir(), "support-gcp-create-"));
  });

  after(async () => {
    await api?.stop();
    await db?.drop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it("fails at once naming the Pulumi CLI and the credentials, and leaves the tunnel pending with nothing created", async () => {
    const device = new SupportApiClient({ baseUrl: api!.url });
    const psk = generatePresharedKey();
    const { tunnelId } = await device.createTunnel({
      deviceWgPublicKey: generateKeyPair().publicKey,
      network: "10.77.3.0/30",
    });

    const result = await execa(
      process.execPath,
      [SUPPORT_BIN, "create", tunnelId, "--provider", "gcp", "--psk", "-"],
      {
        input: `${psk}\n`,
        reject: false,
        timeout: 60_000,
        // An empty HOME (no gcloud credentials, no config) and a PATH without pulumi.
        env: {
          HOME: home,
          PATH: "/usr/bin:/bin",
          SUPPORT_API_URL: api!.url,
          SUPPORT_TOKEN: token,
          SUPPORT_ADMIN_CONFIG: join(home, "admin.json"),
        },
        extendEnv: false,
      },
    );

    assert.notEqual(result.exitCode, 0, result.stdout);
    assert.match(result.stderr, /Pulumi CLI/);
    assert.match(result.stderr, /credentials/i);
    const engineer = new SupportApiClient({ baseUrl: api!.url, token });
    const view = await engineer.getTunnel(tunnelId);
    assert.equal(view.state, TunnelState.Pending);
    assert.equal(view.server, null);
    const audit = await engineer.getAudit(tunnelId);
    assert.ok(!audit.entries.some((e) => e.action === "tunnel.approve"), "no approval recorded");
    const left = await readdir(home).catch(() => []);
    assert.ok(
      !left.some((name) => /pulumi|stack/i.test(name)),
      `nothing made under HOME: ${left.join(", ")}`,
    );
  });
});
