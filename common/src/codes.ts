// Phone-friendly forms of the tunnel id and the PSK, which a customer reads out to
// support: Crockford's base32 (no I, L, O or U, so nothing reads as another symbol,
// case does not matter), in groups of four, ending in a check symbol that catches
// any one misread character and most swapped neighbours before a server is built.
// Parsing takes every form a person may have: the UUID or base64 as printed before,
// the code with or without separators, in any case, or a prefix of the id.
import { isWgKeyString, WG_KEY_BYTES } from "./crypto";
import type { PresharedKey, TunnelId } from "./ids";

/** Crockford's base32 alphabet: digits, then letters without I, L, O and U. */
export const CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RADIX = CODE_ALPHABET.length;
const GROUP = 4;
/** The shortest prefix of a tunnel id or code accepted: fewer characters would match too many. */
export const MIN_TUNNEL_PREFIX_CHARS = 4;

const UUID_BYTES = 16;
/** Data symbols of each code (5 bits each, zero-padded), not counting the check symbol. */
const ID_SYMBOLS = Math.ceil((UUID_BYTES * 8) / 5); // 26
const PSK_SYMBOLS = Math.ceil((WG_KEY_BYTES * 8) / 5); // 52
export const TUNNEL_CODE_LENGTH = ID_SYMBOLS + 1;
export const PSK_CODE_LENGTH = PSK_SYMBOLS + 1;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A code or id typed by a person that cannot be one: the message says what is wrong. */
export class CodeError extends Error {
  override name = "CodeError";
}

function encodeBase32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += CODE_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += CODE_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** Decodes `symbols` into `length` bytes; null when the padding bits are not zero. */
function decodeBase32(symbols: string, length: number): Uint8Array | null {
  const out = new Uint8Array(length);
  let buffer = 0;
  let bits = 0;
  let i = 0;
  for (const symbol of symbols) {
    buffer = ((buffer << 5) | CODE_ALPHABET.indexOf(symbol)) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      if (i === length) return null;
      out[i++] = (buffer >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  if (i !== length || (buffer & ((1 << bits) - 1)) !== 0) return null;
  return out;
}

/**
 * Luhn mod 32: the symbol that makes the weighted sum a multiple of 32. Catches
 * every single wrong symbol and every swap of two neighbours but those 16 apart.
 */
export function checkSymbol(symbols: string): string {
  let sum = 0;
  let factor = 2;
  for (let i = symbols.length - 1; i >= 0; i--) {
    const addend = factor * CODE_ALPHABET.indexOf(symbols[i]!);
    sum += Math.floor(addend / RADIX) + (addend % RADIX);
    factor = factor === 2 ? 1 : 2;
  }
  return CODE_ALPHABET[(RADIX - (sum % RADIX)) % RADIX]!;
}

function group(symbols: string): string {
  return symbols.match(new RegExp(`.{1,${GROUP}}`, "g"))!.join("-");
}

/**
 * What a person typed, as code symbols: separators (spaces, `-`, `.`, `_`) dropped,
 * upper case, and the look-alikes Crockford allows read as the digit they resemble.
 * Null when a character is none of these.
 */
export function normalizeCode(typed: string): string | null {
  const symbols = typed
    .replace(/[\s\-._]/g, "")
    .toUpperCase()
    .replace(/O/g, "0")
    .replace(/[IL]/g, "1");
  return [...symbols].every((c) => CODE_ALPHABET.includes(c)) ? symbols : null;
}

function uuidBytes(id: string): Uint8Array {
  return new Uint8Array(Buffer.from(id.replace(/-/g, ""), "hex"));
}

function uuidFromBytes(bytes: Uint8Array): TunnelId {
  const hex = Buffer.from(bytes).toString("hex");
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
    hex.slice(20),
  ].join("-") as TunnelId;
}

/** The symbols of a tunnel's code, without separators (for prefix matching). */
function tunnelCodeSymbols(id: TunnelId | string): string {
  const data = encodeBase32(uuidBytes(id));
  return data + checkSymbol(data);
}

/** The tunnel id to read out: 27 symbols in groups of four, the last one the check. */
export function tunnelCode(id: TunnelId | string): string {
  if (!UUID.test(id)) throw new CodeError("a tunnel id is a lowercase UUID");
  return group(tunnelCodeSymbols(id));
}

/** The PSK to read out: 53 symbols in groups of four, the last one the check. */
export function presharedKeyCode(psk: PresharedKey | string): string {
  if (!isWgKeyString(psk)) throw new CodeError("not a base64 preshared key");
  const data = encodeBase32(new Uint8Array(Buffer.from(psk, "base64")));
  return group(data + checkSymbol(data));
}

/** Decodes a whole code whose check symbol holds; throws naming `what` otherwise. */
function decodeCode(symbols: string, bytes: number, what: string): Uint8Array {
  const data = symbols.slice(0, -1);
  if (checkSymbol(data) !== symbols.slice(-1))
    throw new CodeError(
      `the ${what}'s check symbol does not match: a character was misheard or mistyped; read it again`,
    );
  const decoded = decodeBase32(data, bytes);
  if (!decoded) throw new CodeError(`not a ${what}: its last symbols cannot end one`);
  return decoded;
}

/**
 * A PSK as typed: base64 as `wg genpsk` prints it, or the code (any case, with or
 * without separators), whose check symbol must hold. The message of the error
 * says what is wrong, never the key itself.
 */
export function parsePresharedKey(typed: string): PresharedKey {
  const text = typed.trim();
  if (isWgKeyString(text)) return text as PresharedKey;
  const symbols = normalizeCode(text);
  if (symbols === null || symbols.length !== PSK_CODE_LENGTH)
    throw new CodeError(
      `a preshared key is ${PSK_CODE_LENGTH} symbols of 0-9 and A-Z in groups (as support-device request prints it), or 44 characters of base64 (as \`wg genpsk\` prints it); this has ${symbols === null ? "other characters" : `${symbols.length} symbols`}`,
    );
  const bytes = decodeCode(symbols, WG_KEY_BYTES, "preshared key");
  return Buffer.from(bytes).toString("base64") as PresharedKey;
}

/** A tunnel id as typed: either a whole id, or a prefix to look up among the tunnels. */
export type TunnelIdInput =
  | { kind: "id"; id: TunnelId }
  | {
      kind: "prefix";
      /** The prefix as hex digits of the UUID, when it can be one. */
      hex: string | null;
      /** The prefix as symbols of the code, when it can be one. */
      symbols: string | null;
      typed: string;
    };

/**
 * Reads a tunnel id in any form: the UUID (any case, with or without dashes), the
 * code (checked), or a start of either of at least four characters.
 */
export function parseTunnelIdInput(typed: string): TunnelIdInput {
  const text = typed.trim();
  const lower = text.toLowerCase();
  if (UUID.test(lower)) return { kind: "id", id: lower as TunnelId };
  if (/^[0-9a-f]{32}$/.test(lower)) return { kind: "id", id: uuidFromBytes(uuidBytes(lower)) };
  const symbols = normalizeCode(text);
  const hex = /^[0-9a-f-]+$/.test(lower) ? lower.replace(/-/g, "") : null;
  if (symbols !== null && symbols.length === TUNNEL_CODE_LENGTH) {
    try {
      return { kind: "id", id: uuidFromBytes(decodeCode(symbols, UUID_BYTES, "tunnel code")) };
    } catch (err) {
      // 27 hex digits may also be the start of a UUID
      if (hex === null) throw err;
    }
  }
  const prefixSymbols = symbols !== null && symbols.length < TUNNEL_CODE_LENGTH ? symbols : null;
  const usable = [hex, prefixSymbols].filter((p) => p !== null && p.length > 0);
  if (usable.length === 0 || (hex !== null && hex.length > 32))
    throw new CodeError(
      `${JSON.stringify(text)} is not a tunnel id: give the id (a UUID), the code support-device printed (${TUNNEL_CODE_LENGTH} symbols of 0-9 and A-Z), or the start of either`,
    );
  if (usable.every((p) => p!.length < MIN_TUNNEL_PREFIX_CHARS))
    throw new CodeError(
      `${JSON.stringify(text)} is too short to find a tunnel by: give at least ${MIN_TUNNEL_PREFIX_CHARS} characters`,
    );
  return { kind: "prefix", hex, symbols: prefixSymbols, typed: text };
}

/** Whether a tunnel's id or code starts with the prefix a person typed. */
export function tunnelMatchesPrefix(
  id: TunnelId | string,
  prefix: Extract<TunnelIdInput, { kind: "prefix" }>,
): boolean {
  if (prefix.hex !== null && prefix.hex.length >= MIN_TUNNEL_PREFIX_CHARS) {
    if (id.replace(/-/g, "").startsWith(prefix.hex)) return true;
  }
  if (prefix.symbols !== null && prefix.symbols.length >= MIN_TUNNEL_PREFIX_CHARS) {
    if (tunnelCodeSymbols(id).startsWith(prefix.symbols)) return true;
  }
  return false;
}

/**
 * The one tunnel among `ids` that the typed prefix names. Throws when none or
 * several do (the message lists them, so the engineer can type more).
 */
export function resolveTunnelPrefix(
  prefix: Extract<TunnelIdInput, { kind: "prefix" }>,
  ids: readonly (TunnelId | string)[],
): TunnelId {
  const matches = [...new Set(ids)].filter((id) => tunnelMatchesPrefix(id, prefix));
  if (matches.length === 1) return matches[0] as TunnelId;
  if (matches.length === 0) throw new TunnelPrefixError(prefix.typed, []);
  throw new TunnelPrefixError(prefix.typed, matches as TunnelId[]);
}

/** No tunnel, or more than one, starts with what was typed. */
export class TunnelPrefixError extends CodeError {
  override name = "TunnelPrefixError";
  constructor(
    readonly typed: string,
    readonly matches: readonly TunnelId[],
  ) {
    super(
      matches.length === 0
        ? `no tunnel's id or code starts with ${JSON.stringify(typed)}`
        : `${JSON.stringify(typed)} is the start of ${matches.length} tunnels (${matches
            .slice(0, 5)
            .map((id) => `${id} ${tunnelCode(id)}`)
            .join(", ")}${matches.length > 5 ? ", …" : ""}): type more of it`,
    );
  }
}
