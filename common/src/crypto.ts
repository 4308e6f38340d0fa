// WireGuard-compatible key material: X25519 keys and PSKs as base64 strings, byte
// for byte what `wg genkey`, `wg pubkey` and `wg genpsk` print. X25519 itself is
// node's (OpenSSL's), not tweetnacl's: tweetnacl's pure JavaScript takes ~35 ms
// per multiplication on a small machine and ~60 ms in the jitless device agent,
// on the way from `support create` to a shell (the server's key, sealing and
// opening the approval); OpenSSL's takes well under a millisecond.
import { createPrivateKey, createPublicKey, diffieHellman, randomBytes } from "node:crypto";
import type { PresharedKey, WgPrivateKey, WgPublicKey } from "./ids";

import { WG_KEY_BYTES, isWgKeyString } from "./wg-key";

export { WG_KEY_BYTES, isWgKeyString } from "./wg-key";

export function decodeKey(key: string): Uint8Array {
  if (!isWgKeyString(key)) throw new Error("not a base64 WireGuard key");
  return new Uint8Array(Buffer.from(key, "base64"));
}

export function encodeKey(bytes: Uint8Array): string {
  if (bytes.length !== WG_KEY_BYTES) throw new Error("a WireGuard key is 32 bytes");
  return Buffer.from(bytes).toString("base64");
}

/** Clamp as curve25519 requires (and as `wg genkey` does before printing). */
function clamp(secret: Uint8Array): Uint8Array {
  const k = new Uint8Array(secret);
  k[0]! &= 248;
  k[31]! &= 127;
  k[31]! |= 64;
  return k;
}

export type RandomBytes = (n: number) => Uint8Array;
const defaultRandom: RandomBytes = (n) => new Uint8Array(randomBytes(n));

// A raw X25519 key in the DER wrappings node imports: PKCS#8 for a scalar, SPKI
// for a point (RFC 8410), each a fixed prefix before the 32 bytes.
const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519 = Buffer.from("302a300506032b656e032100", "hex");

function x25519PrivateKey(scalar: Uint8Array) {
  if (scalar.length !== WG_KEY_BYTES) throw new Error("an X25519 scalar is 32 bytes");
  return createPrivateKey({
    key: Buffer.concat([PKCS8_X25519, scalar]),
    format: "der",
    type: "pkcs8",
  });
}

/**
 * X25519(scalar, point) (RFC 7748, the scalar clamped as it requires): the
 * shared secret of a private and a public key. Throws for a point of small
 * order, whose result would be all zeros: no secret, whatever the scalar.
 */
export function x25519(scalar: Uint8Array, point: Uint8Array): Uint8Array {
  if (point.length !== WG_KEY_BYTES) throw new Error("an X25519 point is 32 bytes");
  const publicKey = createPublicKey({
    key: Buffer.concat([SPKI_X25519, point]),
    format: "der",
    type: "spki",
  });
  return new Uint8Array(diffieHellman({ privateKey: x25519PrivateKey(scalar), publicKey }));
}

/** X25519(scalar, 9): the public key of a private one. */
export function x25519Base(scalar: Uint8Array): Uint8Array {
  const spki = createPublicKey(x25519PrivateKey(scalar)).export({ format: "der", type: "spki" });
  return new Uint8Array(spki.subarray(SPKI_X25519.length));
}

/** Like `wg genkey`. */
export function generatePrivateKey(random: RandomBytes = defaultRandom): WgPrivateKey {
  return encodeKey(clamp(random(WG_KEY_BYTES))) as WgPrivateKey;
}

/** Like `wg pubkey`: X25519 scalar multiplication of the base point (which clamps itself). */
export function publicKeyFromPrivate(privateKey: WgPrivateKey | string): WgPublicKey {
  return encodeKey(x25519Base(decodeKey(privateKey))) as WgPublicKey;
}

/** Like `wg genpsk`. */
export function generatePresharedKey(random: RandomBytes = defaultRandom): PresharedKey {
  return encodeKey(random(WG_KEY_BYTES)) as PresharedKey;
}

export interface WgKeyPair {
  privateKey: WgPrivateKey;
  publicKey: WgPublicKey;
}

export function generateKeyPair(random: RandomBytes = defaultRandom): WgKeyPair {
  const privateKey = generatePrivateKey(random);
  return { privateKey, publicKey: publicKeyFromPrivate(privateKey) };
}
