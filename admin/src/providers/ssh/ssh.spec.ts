import assert from "node:assert/strict";
import { parseSshInstanceId, parseSshTarget, sshInstanceId } from "./index";

describe("ssh provider addressing", () => {
  it("reads user@host[:port]", () => {
    assert.deepEqual(parseSshTarget("root@203.0.113.7"), {
      username: "root",
      host: "203.0.113.7",
      port: 22,
    });
    assert.deepEqual(parseSshTarget("ops@bastion.example.com:2222"), {
      username: "ops",
      host: "bastion.example.com",
      port: 2222,
    });
  });

  it("refuses targets that could smuggle ssh options", () => {
    for (const bad of ["-oProxyCommand=x@h", "root@h;id", "root@", "h", "root@h:port"]) {
      assert.throws(() => parseSshTarget(bad), /must be user@host/, bad);
    }
  });

  it("names an instance so destroy needs no other config", () => {
    const target = { username: "root", host: "203.0.113.7", port: 22 };
    const id = sshInstanceId(target, "sts0b7e3f529a61");
    assert.equal(id, "root@203.0.113.7:22:sts0b7e3f529a61");
    assert.deepEqual(parseSshInstanceId(id), { target, iface: "sts0b7e3f529a61" });
  });
});
