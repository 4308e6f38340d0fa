// The api process helper, against the built api.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { requirePrerequisite } from "@support-tunnel/testkit";
import { API_BIN, startApiProcess } from "./api-process";

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
});
