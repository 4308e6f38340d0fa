// The lab's address plan and names: pure choices that keep labs apart.
import { strict as assert } from "node:assert";
import { allocateSubnet, cidrsOverlap, isPrivateCidr, parseCidr } from "@support-tunnel/common";
import {
  assertHostName,
  assertLabName,
  chooseInternetSegment,
  labOfNamespace,
  lanPlan,
  namespaceNames,
  nextSegmentAddress,
  rootInterfaceName,
} from "./addresses";
import { listeningPort } from "./api-process";

describe("lab address plan", () => {
  it("puts a lab's internet segment outside private space, so a device can always find a tunnel subnet", () => {
    const segment = chooseInternetSegment([]);
    assert.equal(isPrivateCidr(parseCidr(segment)), false);
    assert.ok(cidrsOverlap(parseCidr("100.64.0.0/10"), parseCidr(segment)));
    const tunnel = allocateSubnet({ avoid: [segment, "172.31.1.0/24", "default"] });
    assert.equal(cidrsOverlap(parseCidr(tunnel), parseCidr(segment)), false);
  });

  it("never gives two labs, or a route of the machine, the same segment, and falls back when the pool is taken", () => {
    const taken = ["100.64.0.0/24", "100.64.1.0/24", "100.64.2.5"];
    const sut = chooseInternetSegment(taken, () => 0);
    assert.equal(sut, "100.64.3.0/24");
    assert.equal(
      chooseInternetSegment(["100.64.0.0/10"], () => 0),
      "198.18.0.0/24",
    );
    assert.throws(() => chooseInternetSegment(["100.64.0.0/10", "198.18.0.0/15"]), /no free \/24/);
  });

  it("ignores the default route when choosing a segment", () => {
    assert.match(
      chooseInternetSegment(["default", "0.0.0.0/0"], () => 0),
      /^100\.64\.0\.0\/24$/,
    );
  });

  it("hands out the lowest free host address and keeps .1 for the machine", () => {
    assert.equal(nextSegmentAddress("100.70.3.0/24", []), "100.70.3.2");
    assert.equal(nextSegmentAddress("100.70.3.0/24", ["100.70.3.2", "100.70.3.4"]), "100.70.3.3");
  });

  it("gives each NAT'ed host its own LAN with the router first and the host second", () => {
    assert.deepEqual(lanPlan(1), {
      cidr: "172.31.2.0/24",
      router: "172.31.2.1",
      host: "172.31.2.2",
    });
    assert.notEqual(lanPlan(1).cidr, lanPlan(2).cidr);
  });

  it("names namespaces so a leftover can be traced to its lab", () => {
    assert.equal(labOfNamespace(namespaceNames.host("demo", "device")), "demo");
    assert.equal(labOfNamespace(namespaceNames.router("demo", "device")), "demo");
    assert.equal(labOfNamespace(namespaceNames.internet("demo")), "demo");
    assert.equal(labOfNamespace("other-ns"), null);
  });

  it("keeps the root veth name within the 15-character interface limit", () => {
    assert.ok(rootInterfaceName("beef").length <= 15);
    assert.throws(() => rootInterfaceName("zz"), /invalid lab id/);
  });

  it("refuses lab and host names that could break namespace names or collide with the bridge", () => {
    assert.throws(() => assertLabName("Demo-1"), /invalid lab name/);
    assert.throws(() => assertLabName("a".repeat(13)), /invalid lab name/);
    assert.throws(() => assertHostName("inet"), /invalid lab host name/);
    assert.throws(() => assertHostName("dev-1"), /invalid lab host name/);
    assertLabName("demo");
    assertHostName("server2");
  });
});

describe("api process output", () => {
  it("finds the port in the api's listening line and nowhere else", () => {
    assert.equal(
      listeningPort('{"msg":"listening","port":4123,"url":"http://127.0.0.1:4123"}'),
      4123,
    );
    assert.equal(listeningPort('{"msg":"migrated","port":4123}'), null);
    assert.equal(listeningPort("not json"), null);
  });
});
