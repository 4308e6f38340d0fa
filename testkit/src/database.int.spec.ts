// Throwaway databases against the real PostgreSQL server.
import { strict as assert } from "node:assert";
import { createTestDatabase, queryDatabase } from "./database";
import { missingPostgres, requirePrerequisite } from "./prerequisites";

describe("test databases", function () {
  this.timeout(60_000);

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
