import * as assert from "node:assert/strict";
import { parseLatestHandshakes, parseNetDev } from "./wireguard";

describe("wgQuick's readers", () => {
  it("reads interface names from /proc/net/dev, whatever their kind", () => {
    const text = [
      "Inter-|   Receive                                                |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
      "    lo:  3902706   16212    0    0    0     0          0         0  3902706   16212    0    0    0     0       0          0",
      "stdab12cd34ef56: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
      "  eth0.10:1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
      "",
    ].join("\n");
    assert.deepEqual(parseNetDev(text), ["lo", "stdab12cd34ef56", "eth0.10"]);
  });

  it("reads the latest handshake of `wg show latest-handshakes`, and none for 0 or no peer", () => {
    assert.equal(
      parseLatestHandshakes("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\t1764626400"),
      1764626400_000,
    );
    assert.equal(parseLatestHandshakes("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\t0"), null);
    assert.equal(parseLatestHandshakes(""), null);
  });
});
