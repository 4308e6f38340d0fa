import assert from "node:assert/strict";
import { openDatabase } from "./database";

describe("openDatabase", () => {
  it("keeps trying while PostgreSQL is unreachable, then fails with the connection error", async () => {
    const retries: string[] = [];
    await assert.rejects(
      openDatabase(
        // port 1: nothing listens there, the connection is refused at once
        { databaseUrl: "postgres://postgres@127.0.0.1:1/none", dataDir: "" },
        { migrate: true, connectRetryMs: 1000, onRetry: (err) => retries.push(err.message) },
      ),
      /ECONNREFUSED/,
    );
    assert.ok(retries.length >= 1);
  });
});
