import assert from "node:assert/strict";
import { firstAdminHint } from "./first-admin";

describe("firstAdminHint", () => {
  it("gives the exact command for the embedded database, with its data directory", () => {
    const hint = firstAdminHint({ databaseUrl: null, dataDir: "/var/lib/st-api" });
    assert.match(
      hint,
      /stop this server, run `support-api engineer add NAME --role admin --data-dir \/var\/lib\/st-api`, and start it again/,
    );
    assert.match(hint, /SUPPORT_BOOTSTRAP_TOKEN=\$\(support-api token\)/);
  });

  it("never repeats the database url, which holds a password", () => {
    const hint = firstAdminHint({
      databaseUrl: "postgres://u:secret@db:5432/support",
      dataDir: "/unused",
    });
    assert.match(hint, /support-api engineer add NAME --role admin` with the same DATABASE_URL/);
    assert.doesNotMatch(hint, /secret/);
  });
});
