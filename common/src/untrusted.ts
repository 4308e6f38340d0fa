// Text from the network is untrusted: shown on a terminal, a control character
// could move the cursor, retitle the window or rewrite what an engineer or a
// customer sees (`\x1b]0;pwned\x07`), a bidi control could reorder it
// (U+202E makes "exe.txt" read "txt.exe"), and an invisible character could hide
// a difference between two names that look the same. The api refuses such
// characters in the text it stores (`findUnsafeCharacter`); the response schemas
// pass every free-text field of an answer through `sanitizeText`, so a CLI that
// prints a parsed api answer is safe without remembering to be.

/** Why a character is unsafe to show; the words name the class in error messages. */
export type UnsafeCharacterClass =
  | "control characters"
  | "bidi controls"
  | "invisible characters"
  | "line or paragraph separators"
  | "unpaired surrogates";

/** The bidirectional formatting characters (Unicode's Bidi_Control property). */
const BIDI_CONTROL = /^\p{Bidi_Control}$/u;
/** C0, DEL and C1. */
const CONTROL = /^\p{Cc}$/u;
/** Zero-width and other invisible characters: format characters and default-ignorables (tags, variation selectors, fillers). */
const INVISIBLE = /^[\p{Cf}\p{Default_Ignorable_Code_Point}]$/u;
const SEPARATOR = /^[\p{Zl}\p{Zp}]$/u;
const SURROGATE = /^\p{Cs}$/u;

/** The class of `ch` (one code point) if it is unsafe on a terminal, else null. */
export function unsafeCharacterClass(ch: string): UnsafeCharacterClass | null {
  if (CONTROL.test(ch)) return "control characters";
  if (BIDI_CONTROL.test(ch)) return "bidi controls";
  if (INVISIBLE.test(ch)) return "invisible characters";
  if (SEPARATOR.test(ch)) return "line or paragraph separators";
  if (SURROGATE.test(ch)) return "unpaired surrogates";
  return null;
}

/** `U+202E` */
export function codePointName(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The first unsafe character in `text` and its class, or null when there is none. */
export function findUnsafeCharacter(
  text: string,
): { character: string; class: UnsafeCharacterClass } | null {
  for (const ch of text) {
    const found = unsafeCharacterClass(ch);
    if (found) return { character: ch, class: found };
  }
  return null;
}

/** A visible stand-in: `\x1b`, `\u202e`, `\u{e0041}`; an unpaired surrogate becomes U+FFFD. */
function escape(ch: string): string {
  const code = ch.codePointAt(0)!;
  if (code >= 0xd800 && code <= 0xdfff) return "\ufffd";
  const hex = code.toString(16);
  if (code <= 0xff) return `\\x${hex.padStart(2, "0")}`;
  if (code <= 0xffff) return `\\u${hex.padStart(4, "0")}`;
  return `\\u{${hex}}`;
}

/**
 * `text` with every unsafe character (see unsafeCharacterClass) replaced by a
 * visible escape (or by `replaceWith`), so what was sent still shows but can
 * neither drive the terminal nor hide. Ordinary text, accents and emoji pass
 * unchanged; applying it twice changes nothing more.
 */
export function sanitizeText(text: string, options: { replaceWith?: string } = {}): string {
  let out = "";
  for (const ch of text) {
    out += unsafeCharacterClass(ch) ? (options.replaceWith ?? escape(ch)) : ch;
  }
  return out;
}
