// The shape of a WireGuard key string, apart from the key making in crypto.ts,
// so that checking one does not load tweetnacl.

export const WG_KEY_BYTES = 32;

/** Strict check for a base64-encoded 32-byte key (44 chars, one `=` pad). */
export function isWgKeyString(value: unknown): value is string {
  return (
    typeof value === "string" &&
    /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(value) &&
    Buffer.from(value, "base64").length === WG_KEY_BYTES
  );
}
