import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { API_BIN } from "@support-tunnel/lab";
import { NestFactory } from "@nestjs/core";
import { DataSource } from "typeorm";
import { DatabaseModule } from "./database/database.module";
import { useTestDatabase } from "./testing/test-api";

describe("support-api migrate and engineer commands (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestDatabase();

  function sut(args: string[], env: Record<string, string> = {}) {
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [API_BIN, ...args],
        {
          env: { ...process.env, DATABASE_URL: pg.db.url, LOG_LEVEL: "warn", ...env },
          timeout: 30_000,
        },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  it("applies migrations once", async () => {
    assert.deepEqual(await sut(["migrate"]), {
      code: 0,
      stdout:
        "applied: Initial1764000000000, RateLimitCounters1796148565613, TunnelChoices1796500000000, TunnelSessions1796600000000, ApprovalRefusal1796600000000, AccessGroups1797000000000, EngineersAndAudit1797100000000, AllowedPorts1797200000000\n",
      stderr: "",
    });
    assert.equal((await sut(["migrate"])).stdout, "database is up to date\n");
  });

  it("leaves nothing for TypeORM to change: the entities match the migrations", async () => {
    const app = await NestFactory.createApplicationContext(
      DatabaseModule.forRoot({ databaseUrl: pg.db.url, dataDir: "" }, { migrate: true }),
      { logger: false, abortOnError: false },
    );
    try {
      const pending = await app.get(DataSource).driver.createSchemaBuilder().log();
      assert.deepEqual(
        pending.upQueries.map((q) => q.query),
        [],
      );
    } finally {
      await app.close();
    }
  });

  it("adds an engineer with a token shown once, and revokes them", async () => {
    const added = await sut(["engineer", "add", "bob", "--role", "operator"]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^ste_[A-Za-z0-9_-]{43}\n$/);
    const taken = await sut(["engineer", "add", "bob", "--role", "admin"]);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /engineer bob already exists/);
    assert.equal((await sut(["engineer", "revoke", "bob"])).stdout, "revoked bob\n");
    const gone = await sut(["engineer", "revoke", "bob"]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /engineer bob not found/);
  });

  it("refuses to revoke the last admin until another admin exists", async () => {
    assert.equal((await sut(["engineer", "add", "ada", "--role", "admin"])).code, 0);
    const last = await sut(["engineer", "revoke", "ada"]);
    assert.equal(last.code, 1);
    assert.match(last.stderr, /refusing to remove the last admin \(ada\)/);
    assert.equal((await sut(["engineer", "add", "bea", "--role", "admin"])).code, 0);
    assert.equal((await sut(["engineer", "revoke", "ada"])).stdout, "revoked ada\n");
  });

  it("prints its version with --version, and exits 2 on an unknown command or flag", async () => {
    const version = await sut(["--version"]);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.equal((await sut(["bogus"])).code, 2);
    assert.equal((await sut(["serve", "--bogus"])).code, 2);
  });

  it("refuses a bad role and a bad configuration with a message naming them", async () => {
    const badRole = await sut(["engineer", "add", "bob", "--role", "root"]);
    assert.equal(badRole.code, 2);
    assert.match(badRole.stderr, /role: must be one of viewer, operator, admin/);
    const badEnv = await sut(["migrate"], { DATABASE_URL: "mysql://x", PORT: "web" });
    assert.equal(badEnv.code, 2);
    assert.match(badEnv.stderr, /PORT: .*\n.*DATABASE_URL: /);
  });
});
