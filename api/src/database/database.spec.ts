import assert from "node:assert/strict";
import { NestFactory } from "@nestjs/core";
import { POOL_IDLE_TIMEOUT_MS, dataSourceOptions } from "./database";
import { DatabaseModule } from "./database.module";

describe("DatabaseModule", () => {
  it("keeps trying while PostgreSQL is unreachable, then fails with the connection error", async () => {
    const logged: string[] = [];
    const quiet = () => undefined;
    await assert.rejects(
      NestFactory.createApplicationContext(
        DatabaseModule.forRoot(
          // port 1: nothing listens there, the connection is refused at once
          { databaseUrl: "postgres://postgres@127.0.0.1:1/none", dataDir: "" },
          { migrate: true, connectRetry: { attempts: 3, delayMs: 10 } },
        ),
        {
          abortOnError: false,
          logger: { log: quiet, warn: quiet, error: (m: unknown) => logged.push(String(m)) },
        },
      ),
      /ECONNREFUSED/,
    );
    // one complaint per failed attempt
    assert.equal(
      logged.filter((m) => /Unable to connect.*ECONNREFUSED.*Retrying/.test(m)).length,
      3,
    );
  });

  it("keeps PostgreSQL connections through a quiet minute, not pg-pool's 10 s", () => {
    const options = dataSourceOptions({ databaseUrl: "postgres://db/support", dataDir: "" });
    const extra = (options as { extra?: { idleTimeoutMillis?: number } }).extra;
    assert.equal(extra?.idleTimeoutMillis, POOL_IDLE_TIMEOUT_MS);
    assert.ok(POOL_IDLE_TIMEOUT_MS >= 60_000);
  });
});
