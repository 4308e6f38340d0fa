// The sealed approval: what the engineer's side tells the device, in a form a
// compromised api can neither forge nor alter.
//
// sealed = version(1) || nonce(24) || nacl.box(json, nonce, devicePub, serverPriv) || mac(32)
// mac    = HMAC-SHA256(key = PSK, "support-tunnel/approval/v1" || everything before the mac)
//
// Version 2 names the approving engineer and the ticket. The MAC context stays
// as it was, so a device of version 1 authenticates a version-2 approval and
// then refuses it by its version, cleanly, instead of calling it forged.
//
// The box proves the message came from the holder of the server's WireGuard key
// (which the device will then pin as its only peer); the MAC proves whoever made
// it knew the PSK the customer handed to support out of band. The api knows
// neither secret, so it can't point the device at another server or plant an SSH key.
import { createHmac, timingSafeEqual } from "node:crypto";
import nacl from "tweetnacl";
import { decodeKey, x25519 } from "./crypto";
import type { PresharedKey, TunnelId, WgPrivateKey, WgPublicKey } from "./ids";
import type { ApprovalRefusalKind } from "./refusal";
import { approvalPayloadSchema, parseWire } from "./schemas";

const VERSION = 2;
const MAC_CONTEXT = Buffer.from("support-tunnel/approval/v1");
const MAC_BYTES = 32;
const HEADER_BYTES = 1 + nacl.box.nonceLength;
/** Sealed approvals are small; anything bigger is refused before any crypto runs. */
export const MAX_SEALED_APPROVAL_CHARS = 4096;

/** What the device learns from an approval. */
export interface ApprovalPayload {
  tunnelId: TunnelId;
  serverWgPublicKey: WgPublicKey;
  /** Where the device sends WireGuard packets: IPv4 address or DNS name of the server. */
  endpoint: string;
  wgPort: number;
  /** OpenSSH public key (one line) whose private half stays on the tunnel server. */
  sshPublicKey: string;
  /** ISO time after which the device tears the tunnel down on its own. */
  expiresAt: string;
  /** The engineer who approved (their api name); the device checks it against the customer's choice. */
  engineer: string;
  /** The ticket the engineer was shown; absent when the customer gave none. */
  ticket?: string;
}

export class ApprovalError extends Error {
  override name = "ApprovalError";
  constructor(
    message: string,
    /** What the device tells the api (and so the engineer) about it. */
    readonly kind: ApprovalRefusalKind = "malformed",
  ) {
    super(message);
  }
}

/** Decodes a key handed to openApproval; a bad one is an ApprovalError like any other failure. */
function decodeForOpen(key: string, what: string): Uint8Array {
  try {
    return decodeKey(key);
  } catch {
    throw new ApprovalError(`${what} is not a base64 WireGuard key`);
  }
}

function mac(pskBytes: Uint8Array, body: Uint8Array): Buffer {
  return createHmac("sha256", pskBytes).update(MAC_CONTEXT).update(body).digest();
}

export interface SealApprovalInput {
  payload: ApprovalPayload;
  serverPrivateKey: WgPrivateKey;
  devicePublicKey: WgPublicKey;
  psk: PresharedKey;
  /** For tests; defaults to a random nonce. */
  nonce?: Uint8Array;
}

/**
 * nacl.box's shared key (crypto_box_beforenm: HSalsa20 of the X25519 secret),
 * with node's X25519: tweetnacl's own is ~35–60 ms, on the way to every shell.
 * Null for a key of small order, which shares no secret with anyone.
 */
function boxKey(theirPublicKey: Uint8Array, ourPrivateKey: Uint8Array): Uint8Array | null {
  let secret: Uint8Array;
  try {
    secret = x25519(ourPrivateKey, theirPublicKey);
  } catch {
    return null;
  }
  const key = new Uint8Array(32);
  hsalsa20(key, new Uint8Array(16), secret, HSALSA20_SIGMA);
  return key;
}
const HSALSA20_SIGMA = new Uint8Array(Buffer.from("expand 32-byte k", "latin1"));
/** tweetnacl's HSalsa20 core, from its `lowlevel` API, which its types leave out. */
const hsalsa20 = (
  nacl as unknown as {
    lowlevel: {
      crypto_core_hsalsa20(
        out: Uint8Array,
        input: Uint8Array,
        key: Uint8Array,
        c: Uint8Array,
      ): number;
    };
  }
).lowlevel.crypto_core_hsalsa20;

export function sealApproval(input: SealApprovalInput): string {
  const payload = parseWire(approvalPayloadSchema, input.payload, "approval");
  const nonce = input.nonce ?? nacl.randomBytes(nacl.box.nonceLength);
  const message = Buffer.from(JSON.stringify(payload), "utf8");
  const key = boxKey(decodeKey(input.devicePublicKey), decodeKey(input.serverPrivateKey));
  if (!key) throw new ApprovalError("the device's public key is not usable (small order)");
  const boxed = nacl.box.after(message, nonce, key);
  const body = Buffer.concat([Buffer.from([VERSION]), Buffer.from(nonce), Buffer.from(boxed)]);
  return Buffer.concat([body, mac(decodeKey(input.psk), body)]).toString("base64");
}

export interface OpenApprovalInput {
  sealed: string;
  /** The server key the api reported; the approval must be boxed with its private half. */
  serverPublicKey: WgPublicKey;
  devicePrivateKey: WgPrivateKey;
  psk: PresharedKey;
  /** The tunnel the device asked for; an approval for another tunnel is refused. */
  tunnelId: TunnelId;
}

/**
 * Verifies and opens an approval. Fails closed: either every check passes and the
 * whole payload is returned, or an ApprovalError is thrown and nothing is.
 */
export function openApproval(input: OpenApprovalInput): ApprovalPayload {
  // Every check below throws an ApprovalError: an approval that breaks the format
  // is refused like a forged one (the device exits 3), never taken for a crash.
  if (typeof input.sealed !== "string") throw new ApprovalError("approval is malformed: not text");
  if (input.sealed.length > MAX_SEALED_APPROVAL_CHARS) {
    throw new ApprovalError(
      `approval is malformed: longer than ${MAX_SEALED_APPROVAL_CHARS} characters`,
    );
  }
  const pskBytes = decodeForOpen(input.psk, "preshared key");
  const serverPublicKey = decodeForOpen(input.serverPublicKey, "server public key");
  const devicePrivateKey = decodeForOpen(input.devicePrivateKey, "device private key");
  const raw = Buffer.from(input.sealed, "base64");
  if (raw.toString("base64") !== input.sealed) {
    throw new ApprovalError("approval is malformed: not base64");
  }
  if (raw.length < HEADER_BYTES + nacl.box.overheadLength + MAC_BYTES) {
    throw new ApprovalError("approval is malformed: too short");
  }
  const body = raw.subarray(0, raw.length - MAC_BYTES);
  const tag = raw.subarray(raw.length - MAC_BYTES);
  // MAC first, in constant time: a wrong PSK or any flipped byte stops here.
  if (!timingSafeEqual(tag, mac(pskBytes, body))) {
    throw new ApprovalError("approval is not authenticated by this tunnel's preshared key", "psk");
  }
  if (body[0] !== VERSION) {
    // Version 1 did not say who approved: the customer's choice of engineers could not be checked.
    const why = body[0] === 1 ? " (it does not name the approving engineer)" : "";
    throw new ApprovalError(`approval version ${body[0]} is not supported${why}`, "version");
  }
  const nonce = body.subarray(1, HEADER_BYTES);
  const boxed = body.subarray(HEADER_BYTES);
  const key = boxKey(serverPublicKey, devicePrivateKey);
  const opened = key && nacl.box.open.after(new Uint8Array(boxed), new Uint8Array(nonce), key);
  if (!opened) {
    throw new ApprovalError("approval was not sealed by this server for this device", "server-key");
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(opened).toString("utf8"));
  } catch {
    throw new ApprovalError("approval payload is not JSON");
  }
  let payload: ApprovalPayload;
  try {
    payload = parseWire(approvalPayloadSchema, json, "approval");
  } catch (err) {
    throw new ApprovalError((err as Error).message);
  }
  if (payload.serverWgPublicKey !== input.serverPublicKey) {
    throw new ApprovalError("approval names another server key", "server-key");
  }
  if (payload.tunnelId !== input.tunnelId) {
    throw new ApprovalError("approval is for another tunnel");
  }
  return payload;
}
