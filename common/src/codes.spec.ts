import assert from "node:assert/strict";
import nacl from "tweetnacl";
import {
  CODE_ALPHABET,
  CodeError,
  parsePresharedKey,
  parseTunnelIdInput,
  presharedKeyCode,
  resolveTunnelPrefix,
  tunnelCode,
  TunnelPrefixError,
} from "./codes";
import { generatePresharedKey } from "./crypto";

const ID = "3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e";

function randomUuid(): string {
  const hex = Buffer.from(nacl.randomBytes(16)).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Every code with one symbol replaced by every other symbol of the alphabet. */
function* singleTypos(code: string): Generator<string> {
  for (let i = 0; i < code.length; i++) {
    if (code[i] === "-") continue;
    for (const c of CODE_ALPHABET) {
      if (c !== code[i]) yield code.slice(0, i) + c + code.slice(i + 1);
    }
  }
}

function idOf(typed: string): string {
  const parsed = parseTunnelIdInput(typed);
  assert.equal(parsed.kind, "id", `${typed} should be a whole id`);
  return parsed.kind === "id" ? parsed.id : "";
}

describe("phone-friendly codes", () => {
  it("prints a tunnel id as 27 unambiguous symbols in groups of four", () => {
    const code = tunnelCode(ID);
    assert.match(code, /^([0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{3}$/);
    assert.doesNotMatch(code, /[ILOU]/);
  });

  it("prints a PSK as 53 unambiguous symbols in groups of four", () => {
    const code = presharedKeyCode(generatePresharedKey());
    assert.match(code, /^([0-9A-HJKMNP-TV-Z]{4}-){13}[0-9A-HJKMNP-TV-Z]$/);
  });

  it("reads a tunnel id back from its code, its UUID and any case or separators", () => {
    for (let i = 0; i < 200; i++) {
      const id = randomUuid();
      const code = tunnelCode(id);
      assert.equal(idOf(code), id);
      assert.equal(idOf(code.toLowerCase()), id);
      assert.equal(idOf(code.replace(/-/g, "")), id);
      assert.equal(idOf(code.replace(/-/g, " ")), id);
      assert.equal(idOf(id), id);
      assert.equal(idOf(id.toUpperCase()), id);
      assert.equal(idOf(id.replace(/-/g, "")), id);
    }
  });

  it("reads a PSK back from its code and from base64", () => {
    for (let i = 0; i < 200; i++) {
      const psk = generatePresharedKey();
      const code = presharedKeyCode(psk);
      assert.equal(parsePresharedKey(code), psk);
      assert.equal(parsePresharedKey(code.toLowerCase()), psk);
      assert.equal(parsePresharedKey(code.replace(/-/g, "")), psk);
      assert.equal(parsePresharedKey(` ${code.replace(/-/g, " ")}\n`), psk);
      assert.equal(parsePresharedKey(psk), psk);
    }
  });

  it("reads O as zero and I or L as one, as a listener may write them", () => {
    const id = "00000000-0000-4000-8000-000000000001";
    const code = tunnelCode(id);
    assert.ok(code.includes("0"));
    assert.equal(idOf(code.replace(/0/g, "O")), id);
    const psk = Buffer.alloc(32, 0x84).toString("base64");
    const pskCode = presharedKeyCode(psk);
    assert.ok(pskCode.includes("1"));
    assert.equal(parsePresharedKey(pskCode.replace(/1/g, "l")), psk);
    assert.equal(parsePresharedKey(pskCode.replace(/1/g, "I")), psk);
  });

  it("catches every single misheard symbol of a PSK with a message about the check symbol", () => {
    const code = presharedKeyCode(generatePresharedKey());
    let typos = 0;
    for (const typo of singleTypos(code)) {
      typos++;
      assert.throws(
        () => parsePresharedKey(typo),
        (err: Error) => err instanceof CodeError && /check symbol does not match/.test(err.message),
      );
    }
    assert.equal(typos, 53 * 31);
  });

  it("catches every single misheard symbol of a tunnel code", () => {
    const code = tunnelCode(ID);
    for (const typo of singleTypos(code)) {
      assert.throws(() => parseTunnelIdInput(typo), /check symbol does not match/);
    }
  });

  it("catches two neighbouring symbols swapped, unless they are 16 apart", () => {
    const code = presharedKeyCode(generatePresharedKey()).replace(/-/g, "");
    for (let i = 0; i + 1 < code.length; i++) {
      const a = CODE_ALPHABET.indexOf(code[i]!);
      const b = CODE_ALPHABET.indexOf(code[i + 1]!);
      if (a === b || Math.abs(a - b) === 16) continue;
      const swapped = code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2);
      assert.throws(() => parsePresharedKey(swapped), CodeError);
    }
  });

  it("refuses a PSK of the wrong length or with other characters, without echoing it", () => {
    const code = presharedKeyCode(generatePresharedKey());
    for (const bad of [code.slice(0, -1), code + "0", "not a key", code.replace(/.$/, "U")]) {
      assert.throws(
        () => parsePresharedKey(bad),
        (err: Error) =>
          /a preshared key is 53 symbols/.test(err.message) && !err.message.includes(bad),
      );
    }
  });

  it("takes a start of the UUID or of the code as a prefix to look up", () => {
    assert.deepEqual(parseTunnelIdInput("3F2B8c1e-4d"), {
      kind: "prefix",
      hex: "3f2b8c1e4d",
      symbols: "3F2B8C1E4D",
      typed: "3F2B8c1e-4d",
    });
    const prefix = parseTunnelIdInput(tunnelCode(ID).slice(0, 6).toLowerCase());
    assert.equal(prefix.kind, "prefix");
    assert.throws(() => parseTunnelIdInput("3f2"), /too short.*at least 4/);
    assert.throws(() => parseTunnelIdInput("tunnel?"), /is not a tunnel id/);
    assert.throws(() => parseTunnelIdInput(""), /is not a tunnel id/);
  });

  it("resolves a unique prefix among the tunnels and refuses an ambiguous or unknown one", () => {
    const other = "3f2b0000-0000-4000-8000-000000000000";
    const third = "aaaa0000-0000-4000-8000-000000000000";
    const ids = [ID, other, third];
    const resolve = (typed: string) => {
      const input = parseTunnelIdInput(typed);
      assert.equal(input.kind, "prefix");
      return input.kind === "prefix" ? resolveTunnelPrefix(input, ids) : "";
    };
    assert.equal(resolve("3f2b8"), ID);
    assert.equal(resolve("AAAA"), third);
    assert.equal(resolve(tunnelCode(other).slice(0, 9)), other);
    assert.throws(
      () => resolve("3f2b"),
      (err: Error) =>
        err instanceof TunnelPrefixError &&
        err.matches.length === 2 &&
        err.message.includes(ID) &&
        err.message.includes(tunnelCode(other)) &&
        /type more of it/.test(err.message),
    );
    assert.throws(
      () => resolve("ffff"),
      (err: Error) => err instanceof TunnelPrefixError && err.matches.length === 0,
    );
  });
});
