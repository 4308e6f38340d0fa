// The shared test helpers for the api and PostgreSQL, against the real things.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { API_BIN, createTestDatabase, queryDatabase, startApiProcess } from "./api-process";
import { missingPostgres, requirePrerequisite } from "./prerequisites";

describe("api process helpers", function () {
  this.timeout(90_000);

  it("starts the built api on an embedded database and stops it, removing its data", async function () {
    requirePrerequisite(this, fs.existsSync(API_BIN) ? null : `needs the api built (${API_BIN})`);
    const sut = await startApiProcess();
    try {
      const res = await fetch(`${sut.url}/healthz`);
      assert.equal(res.status, 200);
    } finally {
      await sut.stop();
    }
    assert.equal(fs.existsSync(sut.dataDir!), false);
  });

  it("creates a throwaway PostgreSQL database and drops it", async function () {
    requirePrerequisite(this, await missingPostgres());
    const sut = await createTestDatabase();
    try {
      assert.match(sut.url, /\/st_[0-9a-f]{12}$/);
      const rows = await queryDatabase(sut.url, "SELECT 1 AS one");
      assert.equal(rows[0]?.one, 1);
    } finally {
      await sut.drop();
    }
    await assert.rejects(queryDatabase(sut.url, "SELECT 1"), /does not exist/);
  });
});
