import assert from "node:assert/strict";
import nacl from "tweetnacl";
import {
  decodeKey,
  encodeKey,
  generateKeyPair,
  generatePresharedKey,
  generatePrivateKey,
  isWgKeyString,
  publicKeyFromPrivate,
  WG_KEY_BYTES,
  x25519,
  x25519Base,
} from "./crypto";

const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

/** What `wg genkey` does to its 32 random bytes before printing them. */
function isClamped(key: Uint8Array): boolean {
  return (key[0]! & 7) === 0 && (key[31]! & 0x80) === 0 && (key[31]! & 0x40) !== 0;
}

describe("WireGuard keys", () => {
  it("derives the RFC 7748 public keys from their private keys", () => {
    // RFC 7748 section 6.1: Alice's and Bob's X25519 key pairs.
    const vectors = [
      [
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
      ],
      [
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
      ],
    ] as const;
    for (const [priv, pub] of vectors) {
      assert.equal(publicKeyFromPrivate(encodeKey(hex(priv))), encodeKey(hex(pub)));
    }
  });

  it("computes the RFC 7748 shared secret from either side, as tweetnacl did", () => {
    // RFC 7748 section 6.1: the secret Alice and Bob share.
    const alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    const bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    assert.equal(Buffer.from(x25519(alice, x25519Base(bob))).toString("hex"), shared);
    assert.equal(Buffer.from(x25519(bob, x25519Base(alice))).toString("hex"), shared);
    for (let i = 0; i < 20; i++) {
      const [a, b] = [nacl.randomBytes(32), nacl.randomBytes(32)];
      assert.deepEqual(x25519Base(a), nacl.scalarMult.base(a));
      assert.deepEqual(x25519(a, x25519Base(b)), nacl.scalarMult(a, nacl.scalarMult.base(b)));
    }
  });

  it("refuses a point of small order: the secret would be all zeros", () => {
    assert.throws(() => x25519(nacl.randomBytes(32), new Uint8Array(32)));
  });

  it("prints private keys as 44 base64 characters of 32 clamped bytes, like wg genkey", () => {
    for (let i = 0; i < 200; i++) {
      const sut = generatePrivateKey();
      assert.match(sut, /^[A-Za-z0-9+/]{43}=$/);
      assert.ok(isWgKeyString(sut));
      assert.equal(decodeKey(sut).length, WG_KEY_BYTES);
      assert.ok(isClamped(decodeKey(sut)), sut);
    }
  });

  it("clamps whatever the random source gives", () => {
    const sut = generatePrivateKey((n) => new Uint8Array(n).fill(0xff));
    const bytes = decodeKey(sut);
    assert.equal(bytes[0], 0xf8);
    assert.equal(bytes[31], 0x7f);
    assert.ok(bytes.subarray(1, 31).every((b) => b === 0xff));
  });

  it("prints preshared keys as 44 base64 characters of 32 unclamped random bytes", () => {
    const sut = generatePresharedKey((n) => new Uint8Array(n).fill(0xff));
    assert.equal(sut, Buffer.alloc(32, 0xff).toString("base64"));
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const psk = generatePresharedKey();
      assert.ok(isWgKeyString(psk));
      seen.add(psk);
    }
    assert.equal(seen.size, 100);
  });

  it("makes key pairs whose public half matches the private half", () => {
    const sut = generateKeyPair();
    assert.equal(sut.publicKey, publicKeyFromPrivate(sut.privateKey));
    assert.notEqual(sut.publicKey, sut.privateKey);
  });

  it("gets the same public key from an unclamped private key as from its clamped form", () => {
    // `wg pubkey` clamps what it reads, so must we.
    const raw = new Uint8Array(32).fill(0xff);
    const clamped = decodeKey(generatePrivateKey(() => raw.slice()));
    assert.equal(publicKeyFromPrivate(encodeKey(raw)), publicKeyFromPrivate(encodeKey(clamped)));
  });

  it("accepts only canonical base64 of exactly 32 bytes as a key", () => {
    const good = generatePresharedKey();
    assert.ok(isWgKeyString(good));
    const bad: unknown[] = [
      good.slice(0, 43), // no padding
      `${good.slice(0, 43)}==`,
      `${good.slice(0, 42)}B=`, // padding bits set: not what any tool prints
      ` ${good}`,
      `${good}\n`,
      good.replace(/.$/, "A"),
      Buffer.alloc(31).toString("base64"),
      Buffer.alloc(33).toString("base64"),
      good.replace(/^./, "-"),
      "",
      null,
      42,
      Buffer.from(good, "base64"),
    ];
    for (const value of bad) assert.equal(isWgKeyString(value), false, JSON.stringify(value));
  });

  it("refuses to decode or encode anything but a 32-byte key", () => {
    assert.throws(() => decodeKey("not a key"), /not a base64 WireGuard key/);
    assert.throws(() => encodeKey(new Uint8Array(31)), /32 bytes/);
    assert.throws(() => publicKeyFromPrivate("AAAA"), /not a base64 WireGuard key/);
    const bytes = new Uint8Array(32).map((_, i) => i);
    assert.deepEqual(decodeKey(encodeKey(bytes)), bytes);
  });
});
