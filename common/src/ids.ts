// Branded string types: a key can't be passed where an id is expected, and a
// value only becomes one of these after a validator has looked at it.

export type Brand<T, B extends string> = T & { readonly __brand: B };

/** UUID of one tunnel request. */
export type TunnelId = Brand<string, "TunnelId">;
/** X25519 public key, base64 as `wg pubkey` prints it. */
export type WgPublicKey = Brand<string, "WgPublicKey">;
/** X25519 private key, base64 as `wg genkey` prints it. Never leaves the host that made it. */
export type WgPrivateKey = Brand<string, "WgPrivateKey">;
/** 32 random bytes, base64 as `wg genpsk` prints it. Shown to the customer, never sent to the api. */
export type PresharedKey = Brand<string, "PresharedKey">;
/** Bearer token scoped to one tunnel, held by the device. Prefixed `std_`. */
export type DeviceToken = Brand<string, "DeviceToken">;
/** Personal bearer token of a support engineer. Prefixed `ste_`. */
export type EngineerToken = Brand<string, "EngineerToken">;

export const DEVICE_TOKEN_PREFIX = "std_";
export const ENGINEER_TOKEN_PREFIX = "ste_";

/** The header carrying a device's stable identity (access.ts's DeviceId) with each request. */
export const DEVICE_ID_HEADER = "x-device-id";
