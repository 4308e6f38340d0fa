import assert from "node:assert/strict";
import { findUnsafeCharacter, sanitizeText, unsafeCharacterClass } from "./untrusted";

/** Characters no terminal should get from the network, by class, each with its visible escape. */
const UNSAFE: Record<string, [string, string][]> = {
  "control characters": [
    ["\u0000", "\\x00"],
    ["\u0007", "\\x07"],
    ["\t", "\\x09"],
    ["\n", "\\x0a"],
    ["\r", "\\x0d"],
    ["\u001b", "\\x1b"],
    ["\u007f", "\\x7f"],
    ["\u0085", "\\x85"],
    ["\u009b", "\\x9b"],
    ["\u009f", "\\x9f"],
  ],
  "bidi controls": [
    ["\u061c", "\\u061c"],
    ["\u200e", "\\u200e"],
    ["\u200f", "\\u200f"],
    ["\u202a", "\\u202a"],
    ["\u202b", "\\u202b"],
    ["\u202c", "\\u202c"],
    ["\u202d", "\\u202d"],
    ["\u202e", "\\u202e"],
    ["\u2066", "\\u2066"],
    ["\u2067", "\\u2067"],
    ["\u2068", "\\u2068"],
    ["\u2069", "\\u2069"],
  ],
  "invisible characters": [
    ["\u00ad", "\\xad"],
    ["\u034f", "\\u034f"],
    ["\u115f", "\\u115f"],
    ["\u180e", "\\u180e"],
    ["\u200b", "\\u200b"],
    ["\u200c", "\\u200c"],
    ["\u200d", "\\u200d"],
    ["\u2060", "\\u2060"],
    ["\u2064", "\\u2064"],
    ["\u3164", "\\u3164"],
    ["\ufe0f", "\\ufe0f"],
    ["\ufeff", "\\ufeff"],
    ["\u{e0041}", "\\u{e0041}"],
    ["\u{e0100}", "\\u{e0100}"],
  ],
  "line or paragraph separators": [
    ["\u2028", "\\u2028"],
    ["\u2029", "\\u2029"],
  ],
  "unpaired surrogates": [
    ["\ud800", "\ufffd"],
    ["\udfff", "\ufffd"],
  ],
};

const ORDINARY = [
  "printer queue is stuck",
  "ümlauts, accents: é, ñ, ø; combining: e\u0301",
  "emoji 🎉 and 👍",
  "中文 日本語 한국어 עברית العربية",
  "spaces: no-break\u00a0and ideographic\u3000",
  "symbols: $ ~ \\ ` ' \" < > | & ;",
];

describe("untrusted text", () => {
  for (const [name, characters] of Object.entries(UNSAFE)) {
    it(`replaces ${name} with visible escapes and names their class`, () => {
      for (const [ch, escaped] of characters) {
        const label = JSON.stringify(ch);
        assert.equal(unsafeCharacterClass(ch), name, label);
        assert.equal(sanitizeText(`a${ch}b`), `a${escaped}b`, label);
        assert.deepEqual(findUnsafeCharacter(`ok ${ch} ok`), { character: ch, class: name }, label);
      }
    });
  }

  it("leaves ordinary text, accents, emoji and other scripts alone", () => {
    for (const text of ORDINARY) {
      assert.equal(sanitizeText(text), text);
      assert.equal(findUnsafeCharacter(text), null, text);
    }
  });

  it("turns a terminal title escape and a bidi override into one inert, visible line", () => {
    const sut = sanitizeText("kiosk\u001b]0;pwned\u0007 \u202egnp.exe\u2066\n");
    assert.equal(sut, "kiosk\\x1b]0;pwned\\x07 \\u202egnp.exe\\u2066\\x0a");
    assert.equal(findUnsafeCharacter(sut), null);
    // Applying it again changes nothing: escapes are ordinary text.
    assert.equal(sanitizeText(sut), sut);
    assert.equal(sanitizeText("a\u001bb\u202ec", { replaceWith: "?" }), "a?b?c");
  });
});
