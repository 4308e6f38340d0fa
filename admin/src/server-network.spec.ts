import assert from "node:assert/strict";
import {
  describeConflicts,
  networkConflicts,
  renderTunnelFirewall,
  serverNetworkEntries,
} from "./server-network";

// What `ip -4 -j addr` and `ip -4 -j route show table all` print on a server with
// a LAN on eth1 and one tunnel already up.
const ADDR = JSON.stringify([
  {
    ifname: "lo",
    addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }],
  },
  {
    ifname: "eth0",
    addr_info: [{ family: "inet", local: "203.0.113.7", prefixlen: 24 }],
  },
  {
    ifname: "eth1",
    addr_info: [{ family: "inet", local: "10.1.0.5", prefixlen: 16 }],
  },
  {
    ifname: "sts111111111111",
    addr_info: [{ family: "inet", local: "10.98.0.2", prefixlen: 30 }],
  },
]);
const ROUTES = JSON.stringify([
  { dst: "default", gateway: "203.0.113.1", dev: "eth0" },
  { dst: "203.0.113.0/24", dev: "eth0", protocol: "kernel" },
  { dst: "10.1.0.0/16", dev: "eth1", protocol: "kernel" },
  { dst: "172.20.0.0/16", gateway: "10.1.0.1", dev: "eth1" },
  { dst: "10.98.0.0/30", dev: "sts111111111111" },
  { type: "blackhole", dst: "192.168.66.0/24" },
  { type: "local", dst: "10.1.0.5", dev: "eth1", table: "local" },
  { dst: "0.0.0.0/0", dev: "eth9", table: "42" },
]);

describe("server network checks", () => {
  const entries = serverNetworkEntries(ADDR, ROUTES);

  it("refuses a device network inside the server's LAN, naming both", () => {
    const conflicts = networkConflicts("10.1.2.0/30", entries);
    assert.ok(conflicts.length > 0);
    assert.equal(
      describeConflicts("10.1.2.0/30", conflicts).split(";")[0],
      "the device's network 10.1.2.0/30 overlaps 10.1.0.5/16 on eth1, 10.1.0.0/16 on eth1 of the tunnel server",
    );
  });

  it("refuses networks reached through a gateway, another tunnel's, and a blackhole route", () => {
    assert.deepEqual(
      networkConflicts("172.20.9.0/30", entries).map((c) => c.cidr),
      ["172.20.0.0/16"],
    );
    assert.deepEqual(
      networkConflicts("10.98.0.0/30", entries).map((c) => `${c.cidr} ${c.dev}`),
      ["10.98.0.2/30 sts111111111111", "10.98.0.0/30 sts111111111111"],
    );
    assert.match(
      describeConflicts("192.168.66.4/30", networkConflicts("192.168.66.4/30", entries)),
      /192\.168\.66\.0\/24 on a blackhole route/,
    );
  });

  it("refuses a network that contains one of the server's routes", () => {
    assert.equal(networkConflicts("10.98.0.0/28", entries).length, 2);
  });

  it("accepts a free network: default routes (in any table) overlap everything and do not count", () => {
    assert.deepEqual(networkConflicts("10.2.0.0/30", entries), []);
    assert.deepEqual(networkConflicts("192.168.7.0/30", entries), []);
  });

  it("ignores the tunnel's own interface once it is up", () => {
    assert.deepEqual(networkConflicts("10.98.0.0/30", entries, "sts111111111111"), []);
  });

  it("names at most three overlaps and counts the rest", () => {
    const many = Array.from({ length: 5 }, (_, i) => ({
      kind: "route" as const,
      cidr: `10.3.0.${i * 4}/30`,
      dev: `eth${i}`,
    }));
    const text = describeConflicts("10.3.0.0/16", networkConflicts("10.3.0.0/16", many));
    assert.match(text, /on eth2 and 2 more of the tunnel server/);
  });
});

describe("renderTunnelFirewall", () => {
  const ruleset = renderTunnelFirewall({
    interfaceName: "sts0b7e3f529a61",
    network: "10.20.30.0/30",
  });

  it("is one table named after the interface, replaced whole", () => {
    assert.match(
      ruleset,
      /^table inet sts0b7e3f529a61\ndelete table inet sts0b7e3f529a61\ntable inet sts0b7e3f529a61 \{/,
    );
  });

  it("forwards nothing from or to the tunnel", () => {
    assert.match(ruleset, /hook forward[^}]*iifname "sts0b7e3f529a61" counter drop/);
    assert.match(ruleset, /hook forward[^}]*oifname "sts0b7e3f529a61" counter drop/);
  });

  it("lets in only the device's answers to the server's tunnel address", () => {
    assert.match(
      ruleset,
      /iifname "sts0b7e3f529a61" ip saddr 10\.20\.30\.1 ip daddr 10\.20\.30\.2 ct state established,related accept\n\s*iifname "sts0b7e3f529a61" counter drop/,
    );
  });

  it("sends only server → device out of the tunnel, and the server's tunnel address nowhere else", () => {
    assert.match(
      ruleset,
      /oifname "sts0b7e3f529a61" ip saddr 10\.20\.30\.2 ip daddr 10\.20\.30\.1 accept\n\s*oifname "sts0b7e3f529a61" counter drop\n\s*ip saddr 10\.20\.30\.2 counter drop/,
    );
  });

  it("refuses an interface name that is not one of ours", () => {
    assert.throws(
      () => renderTunnelFirewall({ interfaceName: 'x" accept', network: "10.20.30.0/30" }),
      /not a tunnel interface name/,
    );
  });
});
