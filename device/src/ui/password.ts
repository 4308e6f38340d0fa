// The consent page's password, kept in the config file only as an scrypt hash in
// the PHC string format (`$scrypt$ln=15,r=8,p=1$<salt>$<hash>`), so the file
// can be read without giving the password away.
import type { ScryptOptions } from "node:crypto";
import { bad, type Check } from "@support-tunnel/common/dist/wire-check";

/* eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when needed: node:crypto costs the agent, which reads the config, ~2 MiB */
const crypto = () => require("node:crypto") as typeof import("node:crypto");

export const PHC =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{32,})$/;

/** 2^15 rounds: about a tenth of a second here, and 32 MiB, for each guess. */
const COST_LOG2 = 15;
const KEY_LENGTH = 32;

/** A hash as `ui --hash-password` prints it, at a cost the page can afford (config-schema.ts's passwordHashSchema). */
export const passwordHash: Check<string> = (value, field) => {
  if (typeof value !== "string")
    bad(field, value === undefined ? "is required" : "must be a string");
  const m = PHC.exec(value);
  if (!m) bad(field, "must be a hash printed by `support-device ui --hash-password`");
  const [ln, r, p] = m.slice(1, 4).map(Number) as [number, number, number];
  if (!(ln >= 14 && ln <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16))
    bad(field, "must use an scrypt cost of ln 14 to 20, r 1 to 32, p 1 to 16");
  return value;
};

function derive(password: string, salt: Buffer, length: number, options: ScryptOptions) {
  return new Promise<Buffer>((resolve, reject) =>
    crypto().scrypt(password.normalize("NFC"), salt, length, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

function optionsFor(ln: number, r: number, p: number): ScryptOptions {
  return { N: 2 ** ln, r, p, maxmem: 256 * 2 ** ln * r + 1024 * 1024 };
}

const b64 = (b: Buffer) => b.toString("base64").replace(/=+$/, "");

export async function hashPassword(
  password: string,
  salt = crypto().randomBytes(16),
): Promise<string> {
  const key = await derive(password, salt, KEY_LENGTH, optionsFor(COST_LOG2, 8, 1));
  return `$scrypt$ln=${COST_LOG2},r=8,p=1$${b64(salt)}$${b64(key)}`;
}

/** True when `password` is the one `hash` was made from; compared in constant time. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const m = PHC.exec(hash);
  if (!m) return false;
  const expected = Buffer.from(m[5]!, "base64");
  const key = await derive(
    password,
    Buffer.from(m[4]!, "base64"),
    expected.length,
    optionsFor(Number(m[1]), Number(m[2]), Number(m[3])),
  );
  return crypto().timingSafeEqual(key, expected);
}
