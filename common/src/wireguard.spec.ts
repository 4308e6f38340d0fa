import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { generateKeyPair, generatePresharedKey } from "./crypto";
import { cidrsOverlap, formatCidr, isPrivateCidr, parseCidr, PRIVATE_RANGES } from "./net";
import {
  allocateSubnet,
  DEVICE_PERSISTENT_KEEPALIVE,
  deviceWgConfig,
  interfaceName,
  MAX_INTERFACE_NAME,
  renderWgQuickConfig,
  serverWgConfig,
  tunnelAddresses,
} from "./wireguard";

/** Small seeded PRNG (mulberry32): a failing property run can be replayed from its seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An injected random source that also checks it is asked sensible questions. */
function randomIntFrom(random: () => number): (max: number) => number {
  return (max) => {
    assert.ok(Number.isInteger(max) && max >= 1, `randomInt asked for a range of ${max}`);
    return Math.floor(random() * max);
  };
}

const server = generateKeyPair();
const device = generateKeyPair();
const psk = generatePresharedKey();

describe("WireGuard interface names", () => {
  it("fits Linux's 15 characters and the names wg-quick accepts", () => {
    for (let i = 0; i < 200; i++) {
      for (const side of ["device", "server"] as const) {
        const sut = interfaceName(randomUUID(), side);
        assert.ok(sut.length <= MAX_INTERFACE_NAME, sut);
        assert.match(sut, /^st[ds][0-9a-f]{12}$/);
        assert.match(sut, /^[a-zA-Z0-9_=+.-]{1,15}$/);
      }
    }
  });

  it("differs between the device and the server end of one tunnel", () => {
    const id = randomUUID();
    assert.notEqual(interfaceName(id, "device"), interfaceName(id, "server"));
  });

  it("is unique across many tunnels and both sides", () => {
    const names = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = randomUUID();
      names.add(interfaceName(id, "device"));
      names.add(interfaceName(id, "server"));
    }
    assert.equal(names.size, 4000);
  });

  it("is the same for the same tunnel, whatever the id's case", () => {
    const id = randomUUID();
    assert.equal(interfaceName(id.toUpperCase(), "device"), interfaceName(id, "device"));
  });

  it("refuses ids that are not hex enough to name an interface", () => {
    for (const bad of ["", "abc", "../../etc/x", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"]) {
      assert.throws(() => interfaceName(bad, "device"), /cannot name an interface/, bad);
    }
  });
});

describe("tunnel addresses", () => {
  it("gives the device the first host and the server the second", () => {
    assert.deepEqual(tunnelAddresses("10.21.7.0/30"), {
      network: "10.21.7.0/30",
      prefix: 30,
      device: "10.21.7.1",
      server: "10.21.7.2",
    });
    assert.equal(tunnelAddresses("192.168.9.16/28").server, "192.168.9.18");
  });

  it("refuses a network with host bits set or no room for two hosts", () => {
    assert.throws(() => tunnelAddresses("10.21.7.1/30"), /host bits/);
    assert.throws(() => tunnelAddresses("10.21.7.0/31"), /outside/);
  });
});

describe("subnet allocation", () => {
  function randomRoute(random: () => number): string {
    const roll = random();
    if (roll < 0.05) return "default";
    const prefix = 16 + Math.floor(random() * 17); // 16..32
    // Most routes in private space, where they matter; a few elsewhere.
    const range = PRIVATE_RANGES[Math.floor(random() * PRIVATE_RANGES.length)]!;
    const base =
      roll < 0.8
        ? range.base + Math.floor(random() * 2 ** (32 - range.prefix))
        : Math.floor(random() * 2 ** 32);
    const cidr = formatCidr(
      parseCidr(`${formatCidr({ base, prefix: 32 }).split("/")[0]}/${prefix}`, false),
    );
    return roll < 0.9 ? cidr : cidr.split("/")[0]!; // some as bare addresses
  }

  it("never overlaps any route it is given (500 random route tables)", () => {
    for (let seed = 1; seed <= 500; seed++) {
      const random = seeded(seed);
      const avoid = Array.from({ length: Math.floor(random() * 60) }, () => randomRoute(random));
      const prefix = 16 + Math.floor(random() * 15); // 16..30
      const sut = allocateSubnet({ avoid, prefix, randomInt: randomIntFrom(random) });
      const cidr = parseCidr(sut, true);
      const context = `seed ${seed}: ${sut} vs ${avoid.join(" ")}`;
      assert.equal(cidr.prefix, prefix, context);
      assert.ok(isPrivateCidr(cidr), context);
      for (const route of avoid.filter((r) => r !== "default")) {
        const r = parseCidr(route.includes("/") ? route : `${route}/32`, false);
        assert.equal(cidrsOverlap(r, cidr), false, `${context}: overlaps ${route}`);
      }
    }
  });

  it("chooses the same subnet for the same random source", () => {
    const avoid = ["10.0.0.0/8", "192.168.1.0/24"];
    const a = allocateSubnet({ avoid, randomInt: randomIntFrom(seeded(7)) });
    const b = allocateSubnet({ avoid, randomInt: randomIntFrom(seeded(7)) });
    assert.equal(a, b);
  });

  it("defaults to a /30, which the wire schema accepts", () => {
    assert.match(allocateSubnet({ avoid: [] }), /\/30$/);
  });

  it("holds big subnets only in ranges big enough for them", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const random = seeded(seed);
      for (const prefix of [8, 10, 12, 14, 16]) {
        const sut = allocateSubnet({ avoid: [], prefix, randomInt: randomIntFrom(random) });
        const cidr = parseCidr(sut, true);
        assert.ok(isPrivateCidr(cidr), `${sut} for /${prefix}`);
      }
    }
    assert.equal(allocateSubnet({ avoid: [], prefix: 8 }), "10.0.0.0/8");
  });

  it("is not blocked by a default route", () => {
    for (const avoid of [["default"], ["0.0.0.0/0"], ["default", "10.0.0.0/8"]]) {
      assert.ok(isPrivateCidr(parseCidr(allocateSubnet({ avoid }))), avoid.join(" "));
    }
  });

  it("ignores IPv6 routes, which cannot overlap", () => {
    assert.ok(allocateSubnet({ avoid: ["fe80::/64", "::1", "default"] }));
  });

  it("finds the one free subnet left in a crowded route table", () => {
    // Everything private is routed except 192.168.77.4/30: the complement of that
    // block inside 192.168.0.0/16 is one sibling block at each prefix from /17 to /30.
    const target = parseCidr("192.168.77.4/30");
    const avoid = ["10.0.0.0/8", "172.16.0.0/12"];
    for (let p = 17; p <= 30; p++) {
      const size = 2 ** (32 - p);
      const onPath = target.base - (target.base % size);
      avoid.push(formatCidr({ base: onPath ^ size, prefix: p }));
    }
    for (let seed = 1; seed <= 5; seed++) {
      const sut = allocateSubnet({ avoid, randomInt: randomIntFrom(seeded(seed)) });
      assert.equal(sut, "192.168.77.4/30");
    }
  });

  it("says so when no private subnet is free", () => {
    const full = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
    assert.throws(() => allocateSubnet({ avoid: full }), /no free private subnet/);
    assert.throws(
      () => allocateSubnet({ avoid: ["10.0.0.0/7", "172.0.0.0/8", "192.0.0.0/8"] }),
      /no free private subnet/,
    );
    // A /8 only fits in 10/8, so one route inside it leaves nothing.
    assert.throws(
      () => allocateSubnet({ avoid: ["10.1.2.3"], prefix: 8 }),
      /no free private subnet/,
    );
  });

  it("refuses prefixes it cannot allocate", () => {
    for (const prefix of [7, 31, 32, 29.5]) {
      assert.throws(() => allocateSubnet({ avoid: [], prefix }), /prefix must be between 8 and 30/);
    }
  });
});

describe("WireGuard config rendering", () => {
  const network = "10.21.7.0/30";
  const deviceSide = deviceWgConfig({
    devicePrivateKey: device.privateKey,
    psk,
    network,
    serverPublicKey: server.publicKey,
    endpoint: "203.0.113.7",
    wgPort: 51820,
  });
  const serverSide = serverWgConfig({
    serverPrivateKey: server.privateKey,
    psk,
    network,
    devicePublicKey: device.publicKey,
    listenPort: 51820,
  });

  it("renders the device end for wg-quick: dials the server, keeps NAT open, allows only the server", () => {
    assert.equal(
      renderWgQuickConfig(deviceSide),
      [
        "[Interface]",
        `PrivateKey = ${device.privateKey}`,
        "Address = 10.21.7.1/30",
        "",
        "[Peer]",
        `PublicKey = ${server.publicKey}`,
        `PresharedKey = ${psk}`,
        "AllowedIPs = 10.21.7.2/32",
        "Endpoint = 203.0.113.7:51820",
        `PersistentKeepalive = ${DEVICE_PERSISTENT_KEEPALIVE}`,
        "",
      ].join("\n"),
    );
  });

  it("renders the server end for wg-quick: listens, no endpoint, allows only the device", () => {
    assert.equal(
      renderWgQuickConfig(serverSide),
      [
        "[Interface]",
        `PrivateKey = ${server.privateKey}`,
        "Address = 10.21.7.2/30",
        "ListenPort = 51820",
        "",
        "[Peer]",
        `PublicKey = ${device.publicKey}`,
        `PresharedKey = ${psk}`,
        "AllowedIPs = 10.21.7.1/32",
        "",
      ].join("\n"),
    );
  });

  it("only ever allows a /32 and never renders a hook", () => {
    for (let i = 0; i < 50; i++) {
      const net = allocateSubnet({ avoid: [], prefix: 28 + (i % 3) });
      const rendered = [
        deviceWgConfig({
          devicePrivateKey: device.privateKey,
          psk,
          network: net,
          serverPublicKey: server.publicKey,
          endpoint: "vpn.example.com",
          wgPort: 443,
        }),
        serverWgConfig({
          serverPrivateKey: server.privateKey,
          psk,
          network: net,
          devicePublicKey: device.publicKey,
          listenPort: 40000,
        }),
      ].map((c) => renderWgQuickConfig(c));
      for (const text of rendered) {
        const allowed = text.split("\n").filter((l) => l.startsWith("AllowedIPs"));
        assert.equal(allowed.length, 1);
        assert.match(allowed[0]!, /^AllowedIPs = \d+\.\d+\.\d+\.\d+\/32$/);
        assert.doesNotMatch(text, /Pre(Up|Down)|Post(Up|Down)|SaveConfig|DNS|Table/);
      }
    }
  });

  it("refuses values that would add lines to a config", () => {
    const tampered = [
      {
        ...deviceSide,
        peer: { ...deviceSide.peer, endpoint: { host: "x\nPostUp = id", port: 1 } },
      },
      { ...deviceSide, peer: { ...deviceSide.peer, endpoint: { host: "203.0.113.7", port: 0 } } },
      { ...deviceSide, peer: { ...deviceSide.peer, allowedIp: "0.0.0.0/0" } },
      {
        ...deviceSide,
        peer: { ...deviceSide.peer, publicKey: `${server.publicKey}\nPostUp = id` },
      },
      { ...deviceSide, peer: { ...deviceSide.peer, presharedKey: "psk" } },
      { ...deviceSide, peer: { ...deviceSide.peer, persistentKeepalive: 1.5 } },
      { ...deviceSide, privateKey: "" },
      { ...serverSide, listenPort: 70000 },
      { ...deviceSide, address: "10.21.7.1\nPostUp = id" },
    ] as (typeof deviceSide)[];
    for (const config of tampered) {
      assert.throws(() => renderWgQuickConfig(config), /cannot render WireGuard config: bad /);
    }
  });
});
