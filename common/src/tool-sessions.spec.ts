import assert from "node:assert/strict";
import { collectSessionArgv, forwardSessionArgv, parseToolSession } from "./tool-sessions";

describe("tool sessions (forward, collect)", () => {
  it("reads back the sessions support forward and support collect open", () => {
    assert.deepEqual(parseToolSession(forwardSessionArgv(8080)), { kind: "forward", port: 8080 });
    assert.deepEqual(parseToolSession(collectSessionArgv(1)), { kind: "collect", version: 1 });
  });

  it("takes nothing else for one: another command, an extra word, a port out of range", () => {
    assert.equal(
      parseToolSession(["env", "SUPPORT_TUNNEL_FORWARD=80", "cat", "/etc/shadow"]),
      null,
    );
    assert.equal(parseToolSession(["env", "SUPPORT_TUNNEL_FORWARD=99999", "cat"]), null);
    assert.equal(parseToolSession(["env", "SUPPORT_TUNNEL_FORWARD=080", "cat"]), null);
    assert.equal(
      parseToolSession(["sudo", "-n", "--", "env", "SUPPORT_TUNNEL_COLLECT=1", "sh", "-s"]),
      null,
    );
    assert.equal(parseToolSession(["uname", "-a"]), null);
    assert.throws(() => forwardSessionArgv(0), /not a port/);
  });
});
