// Bearer tokens: a prefix that says what they are (std_ device, ste_ engineer,
// stc_ a customer's enrollment secret)
// and 32 random bytes. Only their SHA-256 is stored, so a database dump holds
// nothing that authenticates.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import {
  CUSTOMER_SECRET_PREFIX,
  DEVICE_TOKEN_PREFIX,
  ENGINEER_TOKEN_PREFIX,
  type CustomerEnrollmentSecret,
  type DeviceToken,
  type EngineerToken,
} from "@support-tunnel/common";

export function newDeviceToken(): DeviceToken {
  return (DEVICE_TOKEN_PREFIX + randomBytes(32).toString("base64url")) as DeviceToken;
}

export function newEngineerToken(): EngineerToken {
  return (ENGINEER_TOKEN_PREFIX + randomBytes(32).toString("base64url")) as EngineerToken;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Constant-time comparison of two secrets of any length. */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b);
}

export function newCustomerSecret(): CustomerEnrollmentSecret {
  return (CUSTOMER_SECRET_PREFIX +
    randomBytes(32).toString("base64url")) as CustomerEnrollmentSecret;
}
