import assert from "node:assert/strict";
import {
  cidrContains,
  cidrSize,
  cidrsOverlap,
  formatCidr,
  hostAddress,
  intToIpv4,
  ipv4ToInt,
  isIpv4,
  isPrivateCidr,
  parseCidr,
} from "./net";

describe("IPv4 arithmetic", () => {
  it("converts addresses to unsigned integers and back, up to 255.255.255.255", () => {
    for (const [ip, n] of [
      ["0.0.0.0", 0],
      ["10.0.0.1", 0x0a000001],
      ["192.168.1.254", 0xc0a801fe],
      ["255.255.255.255", 0xffffffff],
    ] as const) {
      assert.equal(ipv4ToInt(ip), n);
      assert.equal(intToIpv4(n), ip);
    }
  });

  it("accepts dotted quads only, without leading zeros or stray text", () => {
    for (const ok of ["1.2.3.4", "0.0.0.0", "255.255.255.255"]) assert.ok(isIpv4(ok), ok);
    for (const bad of [
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3",
      "1.2.3.4.5",
      " 1.2.3.4",
      "1.2.3.4\n",
      "a.b.c.d",
      1,
    ]) {
      assert.equal(isIpv4(bad), false, JSON.stringify(bad));
    }
    assert.throws(() => ipv4ToInt("1.2.3"), /not an IPv4 address/);
  });

  it("parses CIDRs, refusing host bits only when strict", () => {
    assert.deepEqual(parseCidr("10.1.2.0/30"), { base: 0x0a010200, prefix: 30 });
    assert.throws(() => parseCidr("10.1.2.1/30"), /host bits set/);
    assert.deepEqual(parseCidr("10.1.2.1/30", false), { base: 0x0a010200, prefix: 30 });
    assert.deepEqual(parseCidr("0.0.0.0/0"), { base: 0, prefix: 0 });
    assert.deepEqual(parseCidr("255.255.255.255/32"), { base: 0xffffffff, prefix: 32 });
    for (const bad of ["10.0.0.0/33", "10.0.0.0", "10.0.0.0/", "/8", "10.0.0.0/8/8", "fd00::/8"]) {
      assert.throws(() => parseCidr(bad), /not an IPv4 CIDR/, bad);
    }
    assert.equal(formatCidr(parseCidr("172.16.0.0/12")), "172.16.0.0/12");
    assert.equal(cidrSize(parseCidr("10.0.0.0/30")), 4);
  });

  it("knows containment and overlap, in either order", () => {
    const ten = parseCidr("10.0.0.0/8");
    const inside = parseCidr("10.200.3.4/30", false);
    const outside = parseCidr("11.0.0.0/30");
    assert.ok(cidrContains(ten, inside));
    assert.equal(cidrContains(inside, ten), false);
    assert.ok(cidrsOverlap(ten, inside) && cidrsOverlap(inside, ten));
    assert.equal(cidrsOverlap(ten, outside), false);
    assert.ok(cidrsOverlap(parseCidr("0.0.0.0/0"), parseCidr("255.255.255.252/30")));
    assert.ok(cidrsOverlap(parseCidr("10.0.0.5/32"), parseCidr("10.0.0.4/30")));
    assert.equal(cidrsOverlap(parseCidr("10.0.0.8/32"), parseCidr("10.0.0.4/30")), false);
  });

  it("counts only RFC 1918 space as private", () => {
    for (const ok of [
      "10.0.0.0/8",
      "10.255.255.252/30",
      "172.16.0.0/12",
      "172.31.0.0/16",
      "192.168.0.0/16",
    ]) {
      assert.ok(isPrivateCidr(parseCidr(ok)), ok);
    }
    for (const bad of [
      "0.0.0.0/0",
      "8.0.0.0/7",
      "172.32.0.0/30",
      "172.15.255.252/30",
      "192.169.0.0/30",
      "100.64.0.0/10",
      "169.254.0.0/16",
    ]) {
      assert.equal(isPrivateCidr(parseCidr(bad)), false, bad);
    }
  });

  it("names hosts from the first to the last usable address", () => {
    const net = parseCidr("10.9.8.0/29");
    assert.equal(hostAddress(net, 1), "10.9.8.1");
    assert.equal(hostAddress(net, 6), "10.9.8.6");
    assert.throws(() => hostAddress(net, 0), /host 0 outside 10.9.8.0\/29/);
    assert.throws(() => hostAddress(net, 7), /outside/);
    assert.throws(() => hostAddress(parseCidr("10.0.0.0/31"), 1), /outside/);
  });
});
