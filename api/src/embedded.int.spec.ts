import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SupportApiClient, generateKeyPair } from "@support-tunnel/common";
import { API_BIN, startApiProcess, type ApiProcess } from "@support-tunnel/lab";
import { newEngineerToken } from "./services/tokens";
import { http } from "./testing/test-api";

/** Runs `support-api ARGS` to completion with no DATABASE_URL. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [API_BIN, ...args],
      { env: { ...process.env, DATABASE_URL: "", LOG_LEVEL: "warn" }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("support-api serve with the embedded database", function () {
  this.timeout(120_000);
  let dataDir: string;
  let sut: ApiProcess | undefined;
  const adminToken = newEngineerToken();

  before(() => {
    dataDir = join(mkdtempSync(join(tmpdir(), "st-api-embedded-")), "data");
  });

  after(async () => {
    await sut?.stop();
    rmSync(join(dataDir, ".."), { recursive: true, force: true });
  });

  it("creates its database on first start, answers /healthz, owns its data directory and stops cleanly", async () => {
    // Even with logs silenced it announces where it listens.
    sut = await startApiProcess({
      dataDir,
      env: { SUPPORT_BOOTSTRAP_TOKEN: adminToken, LOG_LEVEL: "silent" },
    });
    assert.deepEqual((await http(sut.url, "GET", "/healthz")).body, { status: "ok" });
    assert.deepEqual((await http(sut.url, "GET", "/readyz")).body, { status: "ready" });
    const created = await new SupportApiClient({ baseUrl: sut.url, retries: 0 }).createTunnel({
      deviceWgPublicKey: generateKeyPair().publicKey,
      network: "192.168.77.0/30",
    });
    const admin = new SupportApiClient({ baseUrl: sut.url, token: adminToken, retries: 0 });
    assert.equal((await admin.getTunnel(created.tunnelId)).state, "pending");

    // One process at a time owns the data directory.
    const second = await cli(["serve", "--port", "0", "--data-dir", dataDir]);
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /in use by another support-api process/);

    await sut.stop();
    assert.equal((await sut.process).exitCode, 0);
    sut = undefined;

    // Engineers can be managed directly on the database while the server is down.
    const added = await cli([
      "engineer",
      "add",
      "alice",
      "--role",
      "viewer",
      "--data-dir",
      dataDir,
    ]);
    assert.equal(added.code, 0, added.stderr);
    const aliceToken = added.stdout.trim();
    assert.match(aliceToken, /^ste_[A-Za-z0-9_-]{43}$/);
  });
});
