import assert from "node:assert/strict";
import { ApiError, SupportApiClient } from "@support-tunnel/common";
import { Client } from "pg";
import { useTestApi } from "./testing/test-api";

describe("api: the last admin (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestApi();

  function client(token: string): SupportApiClient {
    return new SupportApiClient({ baseUrl: pg.sut.url, token, retries: 0 });
  }

  async function adminsInDatabase(): Promise<string[]> {
    const db = new Client({ connectionString: pg.db.url });
    await db.connect();
    try {
      const { rows } = await db.query<{ name: string }>(
        `SELECT name FROM engineers WHERE role = 'admin' ORDER BY name`,
      );
      return rows.map((r) => r.name);
    } finally {
      await db.end();
    }
  }

  /** The status a call ended with: 204-like success, or the api's error status. */
  async function outcome(call: Promise<unknown>): Promise<number | string> {
    try {
      await call;
      return "revoked";
    } catch (err) {
      if (err instanceof ApiError) return err.status;
      throw err;
    }
  }

  it("refuses to revoke the last admin, itself included, with 409 naming the rule", async () => {
    const admin = client(pg.sut.adminToken);
    await assert.rejects(
      admin.revokeEngineer("admin"),
      (err: ApiError) =>
        err.status === 409 && /refusing to remove the last admin/.test(err.message),
    );
    assert.deepEqual(await admin.whoami(), { name: "admin", role: "admin" });
    // Other engineers may still go.
    await admin.createEngineer({ name: "otto", role: "operator" });
    await admin.revokeEngineer("otto");
  });

  it("leaves exactly one of two admins revoking each other at once", async () => {
    // From the bootstrap admin to one we hold the token of, then rounds of two.
    const first = await client(pg.sut.adminToken).createEngineer({ name: "alba", role: "admin" });
    await client(first.token).revokeEngineer("admin");
    let survivor = { name: "alba", token: first.token };
    for (let round = 0; round < 5; round++) {
      const other = await client(survivor.token).createEngineer({
        name: `bruno${round}`,
        role: "admin",
      });
      const outcomes = await Promise.all([
        outcome(client(survivor.token).revokeEngineer(other.name)),
        outcome(client(other.token).revokeEngineer(survivor.name)),
      ]);
      // One wins; the other is refused (409), or finds its own token gone (401).
      assert.equal(
        outcomes.filter((o) => o === "revoked").length,
        1,
        `round ${round}: ${JSON.stringify(outcomes)}`,
      );
      assert.ok(outcomes.every((o) => o === "revoked" || o === 409 || o === 401));
      const left = await adminsInDatabase();
      assert.equal(left.length, 1, `round ${round}: admins left ${JSON.stringify(left)}`);
      survivor = left[0] === other.name ? { name: other.name, token: other.token } : survivor;
      assert.equal((await client(survivor.token).whoami()).role, "admin");
    }
  });
});
