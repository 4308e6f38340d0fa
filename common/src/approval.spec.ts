import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import nacl from "tweetnacl";
import {
  ApprovalError,
  MAX_SEALED_APPROVAL_CHARS,
  openApproval,
  sealApproval,
  type ApprovalPayload,
  type OpenApprovalInput,
} from "./approval";
import { decodeKey, generateKeyPair, generatePresharedKey } from "./crypto";
import type { TunnelId, WgPublicKey } from "./ids";
import { deviceServerViewSchema, parseWire, ValidationError } from "./schemas";

const server = generateKeyPair();
const device = generateKeyPair();
const psk = generatePresharedKey();
const tunnelId = randomUUID() as TunnelId;

const payload: ApprovalPayload = {
  tunnelId,
  serverWgPublicKey: server.publicKey,
  endpoint: "203.0.113.7",
  wgPort: 51820,
  sshPublicKey: `ssh-ed25519 ${Buffer.alloc(51, 7).toString("base64")} support@tunnel-server`,
  expiresAt: "2026-11-24T08:00:00.000Z",
  engineer: "alice",
  ticket: "ABC-123",
};

function seal(overrides: Partial<Parameters<typeof sealApproval>[0]> = {}): string {
  return sealApproval({
    payload,
    serverPrivateKey: server.privateKey,
    devicePublicKey: device.publicKey,
    psk,
    ...overrides,
  });
}

function openInput(sealed: string, overrides: Partial<OpenApprovalInput> = {}): OpenApprovalInput {
  return {
    sealed,
    serverPublicKey: server.publicKey,
    devicePrivateKey: device.privateKey,
    psk,
    tunnelId,
    ...overrides,
  };
}

/** Asserts that opening fails closed: an ApprovalError, and no payload at all. */
function assertRefused(
  input: OpenApprovalInput,
  message?: RegExp,
  kind?: ApprovalError["kind"],
): void {
  let result: unknown = undefined;
  assert.throws(
    () => {
      result = openApproval(input);
    },
    (err: unknown) => {
      assert.ok(err instanceof ApprovalError, `expected ApprovalError, got ${String(err)}`);
      if (message) assert.match(err.message, message);
      if (kind) assert.equal(err.kind, kind, "the kind the device reports to the api");
      assert.ok(!err.message.includes(psk), "the error must not show the preshared key");
      return true;
    },
  );
  assert.equal(result, undefined);
}

/** Builds a sealed approval by hand, as the documented format says, to reach the later checks. */
function handSealed(message: Uint8Array, version = 2): string {
  const nonce = nacl.randomBytes(nacl.box.nonceLength);
  const boxed = nacl.box(message, nonce, decodeKey(device.publicKey), decodeKey(server.privateKey));
  const body = Buffer.concat([Buffer.from([version]), nonce, boxed]);
  const mac = createHmac("sha256", decodeKey(psk))
    .update("support-tunnel/approval/v1")
    .update(body)
    .digest();
  return Buffer.concat([body, mac]).toString("base64");
}

describe("sealed approval", () => {
  it("opens to exactly the payload that was sealed", () => {
    const sut = seal();
    assert.match(sut, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.deepEqual(openApproval(openInput(sut)), payload);
  });

  it("seals with a fresh nonce each time, and each seal opens", () => {
    const a = seal();
    const b = seal();
    assert.notEqual(a, b);
    assert.deepEqual(openApproval(openInput(b)), payload);
  });

  it("names the approving engineer and the ticket, and opens without a ticket when there is none", () => {
    const opened = openApproval(openInput(seal()));
    assert.equal(opened.engineer, "alice");
    assert.equal(opened.ticket, "ABC-123");
    const { ticket: _none, ...withoutTicket } = payload;
    const bare = openApproval(openInput(seal({ payload: withoutTicket })));
    assert.equal(bare.ticket, undefined);
    assert.equal(bare.engineer, "alice");
  });

  it("carries a DNS name as the endpoint", () => {
    const named = { ...payload, endpoint: "tunnel-1.support.example.com" };
    assert.deepEqual(openApproval(openInput(seal({ payload: named }))), named);
  });

  it("stays well under the size limit with the largest fields the schema allows", () => {
    const big = {
      ...payload,
      endpoint: `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`,
      sshPublicKey: `ssh-rsa ${"A".repeat(1024 - 8 - 65)} ${"c".repeat(64)}`,
    };
    const sut = seal({ payload: big });
    assert.ok(sut.length < MAX_SEALED_APPROVAL_CHARS, `${sut.length} chars`);
    assert.deepEqual(openApproval(openInput(sut)), big);
  });

  it("refuses an approval sealed with another PSK", () => {
    assertRefused(openInput(seal({ psk: generatePresharedKey() })), /preshared key/, "psk");
  });

  it("refuses an approval checked against another PSK", () => {
    assertRefused(openInput(seal(), { psk: generatePresharedKey() }), /preshared key/, "psk");
  });

  it("refuses an approval sealed by another server, even one that knows the PSK", () => {
    const impostor = generateKeyPair();
    const sealed = seal({
      serverPrivateKey: impostor.privateKey,
      payload: { ...payload, serverWgPublicKey: server.publicKey },
    });
    assertRefused(openInput(sealed), /not sealed by this server/, "server-key");
  });

  it("refuses an approval when the api reports another server key", () => {
    assertRefused(
      openInput(seal(), { serverPublicKey: generateKeyPair().publicKey }),
      undefined,
      "server-key",
    );
  });

  it("refuses a server key of small order, which would share an all-zero secret with any device", () => {
    // 0 and 1 are points of small order (RFC 7748): X25519 with them is 0 whatever the scalar.
    for (const point of [Buffer.alloc(32), Buffer.from([1, ...Buffer.alloc(31)])]) {
      const smallOrder = point.toString("base64") as WgPublicKey;
      assertRefused(openInput(seal(), { serverPublicKey: smallOrder }), undefined, "server-key");
      assert.throws(() => seal({ devicePublicKey: smallOrder }), ApprovalError);
    }
  });

  it("refuses an approval sealed for another device", () => {
    assertRefused(openInput(seal({ devicePublicKey: generateKeyPair().publicKey })));
    assertRefused(openInput(seal(), { devicePrivateKey: generateKeyPair().privateKey }));
  });

  it("refuses an approval for another tunnel", () => {
    assertRefused(openInput(seal(), { tunnelId: randomUUID() as TunnelId }), /for another tunnel/);
  });

  it("refuses a payload that names another server key than the one that sealed it", () => {
    const other = generateKeyPair().publicKey;
    const sealed = seal({ payload: { ...payload, serverWgPublicKey: other } });
    assertRefused(openInput(sealed), /names another server key/, "server-key");
  });

  it("refuses the approval when any single bit of any byte is flipped", () => {
    const raw = Buffer.from(seal(), "base64");
    for (let i = 0; i < raw.length; i++) {
      const bits = i === 0 || i === raw.length - 1 ? [0, 1, 2, 3, 4, 5, 6, 7] : [i % 8];
      for (const bit of bits) {
        const tampered = Buffer.from(raw);
        tampered[i]! ^= 1 << bit;
        assertRefused(openInput(tampered.toString("base64")));
      }
    }
  });

  it("refuses a truncated or extended approval", () => {
    const raw = Buffer.from(seal(), "base64");
    assertRefused(openInput(raw.subarray(0, raw.length - 1).toString("base64")));
    assertRefused(openInput(raw.subarray(1).toString("base64")));
    assertRefused(openInput(Buffer.concat([raw, Buffer.from([0])]).toString("base64")));
    assertRefused(openInput(raw.subarray(0, 40).toString("base64")), /malformed/);
  });

  it("refuses malformed and oversized input before any crypto runs", () => {
    const good = seal();
    const bad = [
      "",
      "!!!!",
      `${good}\n`,
      ` ${good}`,
      good.slice(0, -1),
      `${good}==`,
      `${good.slice(0, 8)}-_${good.slice(10)}`,
      "A".repeat(MAX_SEALED_APPROVAL_CHARS + 4),
      good + "A".repeat(MAX_SEALED_APPROVAL_CHARS),
    ];
    for (const sealed of bad) assertRefused(openInput(sealed), /malformed/, "malformed");
    assertRefused(openInput(undefined as unknown as string), /malformed/);
    assertRefused(openInput(42 as unknown as string), /malformed/);
  });

  it("leaves a malformed approval in a device's view to openApproval, which refuses it as an approval", () => {
    // The view's schema must not turn a bad approval into a bad api answer (exit 1 instead of 3).
    for (const sealed of ["not base64!", "", "AAAA", "A".repeat(MAX_SEALED_APPROVAL_CHARS + 4)]) {
      const view = parseWire(deviceServerViewSchema, {
        wgPublicKey: server.publicKey,
        publicIp: "203.0.113.7",
        wgPort: 51820,
        approval: sealed,
      });
      assertRefused(openInput(view.approval), /malformed/);
    }
  });

  it("refuses keys that are not keys with an ApprovalError, not a crash", () => {
    assertRefused(openInput(seal(), { psk: "secret" as never }), /preshared key is not/);
    assertRefused(openInput(seal(), { serverPublicKey: "" as never }), /server public key/);
    assertRefused(openInput(seal(), { devicePrivateKey: "x" as never }), /device private key/);
  });

  it("refuses an authentic approval of an unknown version", () => {
    const message = Buffer.from(JSON.stringify(payload));
    assert.deepEqual(openApproval(openInput(handSealed(message))), payload);
    assertRefused(openInput(handSealed(message, 3)), /version 3 is not supported/, "version");
  });

  it("refuses an authentic approval of version 1, which does not say who approved", () => {
    const { engineer: _e, ticket: _t, ...v1 } = payload;
    assertRefused(
      openInput(handSealed(Buffer.from(JSON.stringify(v1)), 1)),
      /^approval version 1 is not supported \(it does not name the approving engineer\)$/,
    );
  });

  it("keeps the MAC a version-1 device checks, so such a device refuses by the version, not as forged", () => {
    const raw = Buffer.from(seal(), "base64");
    const body = raw.subarray(0, raw.length - 32);
    const v1Mac = createHmac("sha256", decodeKey(psk))
      .update("support-tunnel/approval/v1")
      .update(body)
      .digest();
    assert.deepEqual(raw.subarray(raw.length - 32), v1Mac);
    assert.equal(raw[0], 2);
  });

  it("refuses an authentic approval that names no engineer, or a malformed one", () => {
    const { engineer: _e, ...anonymous } = payload;
    assertRefused(
      openInput(handSealed(Buffer.from(JSON.stringify(anonymous)))),
      /engineer: is required/,
    );
    for (const engineer of ["", "Alice", "alice\nbob", 7]) {
      const odd = Buffer.from(JSON.stringify({ ...payload, engineer }));
      assertRefused(openInput(handSealed(odd)), /engineer: /);
    }
    const badTicket = Buffer.from(JSON.stringify({ ...payload, ticket: "ABC 123\u001b[2J" }));
    assertRefused(openInput(handSealed(badTicket)), /ticket: /);
  });

  it("refuses an authentic approval whose content is not a valid payload", () => {
    assertRefused(openInput(handSealed(Buffer.from("{not json"))), /not JSON/);
    const extra = Buffer.from(JSON.stringify({ ...payload, command: "rm -rf /" }));
    assertRefused(openInput(handSealed(extra)), /command/);
    const badPort = Buffer.from(JSON.stringify({ ...payload, wgPort: 0 }));
    assertRefused(openInput(handSealed(badPort)), /wgPort/);
    const badKey = Buffer.from(JSON.stringify({ ...payload, sshPublicKey: "ssh-ed25519 AAAA\nx" }));
    assertRefused(openInput(handSealed(badKey)), /sshPublicKey/);
  });

  it("refuses to seal a payload that would not open", () => {
    assert.throws(
      () => seal({ payload: { ...payload, endpoint: "bad host\nPostUp = id" } }),
      (err: unknown) => err instanceof ValidationError && err.field === "endpoint",
    );
  });
});
