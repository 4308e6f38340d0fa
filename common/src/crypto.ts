// WireGuard-compatible key material made with tweetnacl: X25519 keys and PSKs as
// base64 strings, byte for byte what `wg genkey`, `wg pubkey` and `wg genpsk` print.
import nacl from "tweetnacl";
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
const defaultRandom: RandomBytes = (n) => nacl.randomBytes(n);

/** Like `wg genkey`. */
export function generatePrivateKey(random: RandomBytes = defaultRandom): WgPrivateKey {
  return encodeKey(clamp(random(WG_KEY_BYTES))) as WgPrivateKey;
}

/** Like `wg pubkey`: X25519 scalar multiplication of the base point (which clamps itself). */
export function publicKeyFromPrivate(privateKey: WgPrivateKey | string): WgPublicKey {
  return encodeKey(nacl.scalarMult.base(decodeKey(privateKey))) as WgPublicKey;
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
