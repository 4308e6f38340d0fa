import assert from "node:assert/strict";
import { CliError } from "./errors";
import { forwardUrl, parseForwardTarget } from "./forward-target";

describe("support forward's [LOCAL:]PORT", () => {
  it("reads a device port, with or without a local one", () => {
    assert.deepEqual(parseForwardTarget("80"), { remotePort: 80, localPort: null });
    assert.deepEqual(parseForwardTarget("8080:80"), { remotePort: 80, localPort: 8080 });
  });

  it("refuses with exit 2 what is not a port, SSH's 22, and more than one colon", () => {
    for (const bad of [
      "",
      "0",
      "65536",
      "http",
      "-1",
      "80.5",
      "1:2:3",
      ":80",
      "80:",
      "22",
      " 80",
    ]) {
      assert.throws(
        () => parseForwardTarget(bad),
        (err: unknown) => err instanceof CliError && err.exitCode === 2,
        JSON.stringify(bad),
      );
    }
  });

  it("prints a URL for web ports and an address for the others", () => {
    assert.equal(forwardUrl(80, 8080), "http://127.0.0.1:8080/");
    assert.equal(forwardUrl(443, 50123), "https://127.0.0.1:50123/");
    assert.equal(forwardUrl(5432, 5432), "127.0.0.1:5432");
  });
});
