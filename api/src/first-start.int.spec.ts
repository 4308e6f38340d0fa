import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { API_BIN, startApiProcess } from "@support-tunnel/lab";
import { http } from "./testing/test-api";

const FIRST_START = "initializing the database (first start)";

/** `support-api serve` on `dataDir`, run until it prints `until` (then SIGKILLed) or exits. */
function serveUntil(
  dataDir: string,
  until: string | null,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [API_BIN, "serve", "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir],
      { env: { ...process.env, DATABASE_URL: "", LOG_LEVEL: "info" }, stdio: "pipe" },
    );
    let output = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (until !== null && output.includes(until)) child.kill("SIGKILL");
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("support-api's embedded database on its first start", function () {
  this.timeout(900_000);
  let tmp: string;

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "st-api-first-start-"));
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("survives a first start killed half-way, and explains a broken directory with the way out", async () => {
    const dataDir = join(tmp, "data");
    const clusterDir = join(dataDir, "pgdata");

    // Killed while it creates the database: nothing half-made is left in place.
    const killed = await serveUntil(dataDir, FIRST_START);
    assert.equal(killed.code, null, killed.output);
    assert.equal(existsSync(clusterDir), false);

    // The next start begins again, cleans up after the dead one, and works.
    const api = await startApiProcess({ dataDir, env: { LOG_LEVEL: "info" }, timeoutMs: 240_000 });
    try {
      assert.match(api.output(), new RegExp(FIRST_START.replace(/[()]/g, "\\$&")));
      assert.equal((await http(api.url, "GET", "/readyz")).status, 200);
      assert.deepEqual(
        readdirSync(dataDir).filter((name) => name.startsWith("pgdata.")),
        [],
      );
    } finally {
      await api.stop();
    }

    // A database that lost its system views (what an earlier version's interrupted
    // first start left behind) is refused with an explanation and the way out...
    const db = await PGlite.create({ dataDir: clusterDir });
    await db.exec("DROP SCHEMA information_schema CASCADE");
    await db.close();
    const refused = await serveUntil(dataDir, null);
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /the embedded database in .*pgdata is broken/);
    assert.match(refused.output, /move it away \(mv .*pgdata .*pgdata\.broken\) and start again/);

    // ...which works.
    renameSync(clusterDir, `${clusterDir}.broken`);
    const fresh = await startApiProcess({
      dataDir,
      env: { LOG_LEVEL: "warn" },
      timeoutMs: 240_000,
    });
    try {
      assert.equal((await http(fresh.url, "GET", "/readyz")).status, 200);
    } finally {
      await fresh.stop();
    }
  });
});
