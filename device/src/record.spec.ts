import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { effectiveExpiry } from "./record";
import { createHarness, type Harness } from "./test/fakes";
import { TunnelLifecycle } from "./tunnel-lifecycle";

describe("tunnel record", () => {
  let h: Harness;

  beforeEach(() => {
    h = createHarness();
  });
  afterEach(() => h.cleanup());

  /** A record as the release before this one wrote it: no deadline of its own, the api's expiry. */
  async function writeVersion1(expiresInMs: number): Promise<string> {
    const current = await new TunnelLifecycle(h.deps).request();
    const { grantedUntil: _dropped, ...rest } = current;
    const old = {
      ...rest,
      version: 1,
      expiresAt: new Date(Date.parse(current.createdAt) + expiresInMs).toISOString(),
    };
    fs.writeFileSync(
      path.join(h.stateDir, "tunnels", `${current.tunnelId}.json`),
      JSON.stringify(old),
      { mode: 0o600 },
    );
    return current.tunnelId;
  }

  it("reads a record of the release before, keeping the expiry it had", async () => {
    const id = await writeVersion1(3600_000);
    const record = (await h.store.read(id))!;
    assert.equal(record.version, 2);
    assert.equal(record.grantedUntil, record.expiresAt);
  });

  it("caps an older record's expiry at the longest grant a customer can give", async () => {
    const id = await writeVersion1(30 * 24 * 3600_000);
    const record = (await h.store.read(id))!;
    assert.equal(
      Date.parse(effectiveExpiry(record)),
      Date.parse(record.createdAt) + 7 * 24 * 3600_000,
    );
  });

  it("reads a record from before the customer's choices as none chosen: anyone, at once", async () => {
    const current = await new TunnelLifecycle(h.deps).request({
      ticket: "ABC-123",
      allowedEngineers: ["alice"],
    });
    const { ticket: _t, notBefore: _n, allowedEngineers: _a, approval: _p, ...older } = current;
    fs.writeFileSync(
      path.join(h.stateDir, "tunnels", `${current.tunnelId}.json`),
      JSON.stringify(older),
      { mode: 0o600 },
    );
    const record = (await h.store.read(current.tunnelId))!;
    assert.deepEqual(
      [record.ticket, record.notBefore, record.allowedEngineers, record.approval],
      [null, null, null, null],
    );
    assert.equal(record.grantedUntil, current.grantedUntil);
  });

  it("never ends later than the grant, whatever the stored expiry says", () => {
    const grantedUntil = "2030-01-01T01:00:00.000Z";
    assert.equal(
      effectiveExpiry({ grantedUntil, expiresAt: "2030-02-01T00:00:00.000Z" }),
      grantedUntil,
    );
    assert.equal(
      effectiveExpiry({ grantedUntil, expiresAt: "2030-01-01T00:30:00.000Z" }),
      "2030-01-01T00:30:00.000Z",
    );
  });
});
