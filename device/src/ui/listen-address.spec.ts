import * as assert from "node:assert/strict";
import { ExitCode } from "../errors";
import { allowedHosts, parseListenAddress } from "./listen-address";

describe("the consent page's listen address", () => {
  it("reads IPv4, bracketed IPv6 and localhost, and knows which are loopback", () => {
    assert.deepEqual(parseListenAddress("127.0.0.1:7480"), {
      host: "127.0.0.1",
      port: 7480,
      loopback: true,
    });
    assert.deepEqual(parseListenAddress("[::1]:80"), { host: "::1", port: 80, loopback: true });
    assert.deepEqual(parseListenAddress("localhost:0"), {
      host: "127.0.0.1",
      port: 0,
      loopback: true,
    });
    assert.equal(parseListenAddress("0.0.0.0:7480").loopback, false);
    assert.equal(parseListenAddress("192.168.1.10:7480").loopback, false);
    assert.equal(parseListenAddress("[::]:7480").loopback, false);
  });

  it("refuses anything else with a usage error", () => {
    for (const bad of ["7480", "127.0.0.1", "printer.local:7480", "::1:7480", "1.2.3.4:99999"]) {
      assert.throws(
        () => parseListenAddress(bad),
        (err: { exitCode: number }) => err.exitCode === ExitCode.Usage,
        bad,
      );
    }
  });

  it("answers to localhost and its own address on its port; a wildcard adds this machine's names", () => {
    assert.deepEqual([...allowedHosts(parseListenAddress("127.0.0.1:0"), 7480)].sort(), [
      "127.0.0.1:7480",
      "localhost:7480",
    ]);
    const machine = { addresses: () => ["10.0.0.5", "fe80::1"], hostname: () => "Kiosk-7" };
    const wildcard = allowedHosts(
      parseListenAddress("0.0.0.0:80"),
      80,
      ["support.example"],
      machine,
    );
    for (const host of ["10.0.0.5:80", "10.0.0.5", "[fe80::1]:80", "kiosk-7:80", "support.example"])
      assert.ok(wildcard.has(host), host);
    assert.ok(!wildcard.has("evil.example:80"));
  });
});
