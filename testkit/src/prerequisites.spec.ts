// The skip-or-fail contract every integration test relies on.
import { strict as assert } from "node:assert";
import { missingCommands, missingPostgres, requirePrerequisite } from "./prerequisites";

describe("test prerequisites", () => {
  const context = () => {
    const ctx = { skipped: false, skip: () => void (ctx.skipped = true) };
    return ctx;
  };

  it("lets the test run when nothing is missing, strict or not", () => {
    for (const env of [{}, { SUPPORT_TUNNEL_TEST_STRICT: "1" }]) {
      const ctx = context();
      requirePrerequisite(ctx, null, env);
      assert.equal(ctx.skipped, false);
    }
  });

  it("skips the test when something is missing outside strict mode", () => {
    const ctx = context();
    requirePrerequisite(ctx, "needs a unicorn", {});
    assert.equal(ctx.skipped, true);
  });

  it("fails the test naming what is missing in strict mode, instead of skipping", () => {
    const ctx = context();
    assert.throws(
      () => requirePrerequisite(ctx, "needs a unicorn", { SUPPORT_TUNNEL_TEST_STRICT: "1" }),
      /prerequisite missing: needs a unicorn/,
    );
    assert.equal(ctx.skipped, false);
  });

  it("names only the commands that are not installed", () => {
    assert.equal(missingCommands("sh"), null);
    const sut = missingCommands("sh", "no-such-command-st", "nor-this-one-st");
    assert.match(sut ?? "", /^needs no-such-command-st, nor-this-one-st \(/);
  });

  it("reports an unreachable PostgreSQL server as missing, naming where it looked", async () => {
    const sut = await missingPostgres("postgres://postgres@127.0.0.1:1/postgres");
    assert.equal(sut, "needs PostgreSQL at 127.0.0.1:1");
  });
});
