import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { shellQuote } from "./shell-quote";

/** What a POSIX shell makes of the quoted string: the argv it would run. */
function parsedBySh(quoted: string): string[] {
  const out = execFileSync("sh", ["-c", `for a in ${quoted}; do printf '%s\\0' "$a"; done`], {
    encoding: "utf8",
  });
  return out.split("\0").slice(0, -1);
}

describe("shellQuote", () => {
  const hostile = [
    "plain",
    "with space",
    "it's",
    `"double"`,
    "$(touch /tmp/pwned)",
    "`id`",
    "a;rm -rf /",
    "line\nbreak",
    "back\\slash",
    "*",
    "~",
    "",
    "'",
    "''",
    "-n",
    "$HOME",
    "a&&b|c>d<e",
  ];

  it("passes every hostile argument through sh unchanged", () => {
    assert.deepEqual(parsedBySh(shellQuote(hostile)), hostile);
  });

  it("survives two levels of quoting, as the device hop needs", () => {
    const inner = shellQuote(["printf", "%s|", ...hostile]);
    const out = execFileSync("sh", ["-c", shellQuote(["sh", "-c", inner])], { encoding: "utf8" });
    assert.equal(out, hostile.map((h) => `${h}|`).join(""));
  });

  it("leaves simple words readable", () => {
    assert.equal(
      shellQuote(["wg-quick", "up", "/var/lib/x/st.conf"]),
      "wg-quick up /var/lib/x/st.conf",
    );
  });

  it("refuses a NUL byte and an empty argv", () => {
    assert.throws(() => shellQuote(["a\0b"]), /NUL/);
    assert.throws(() => shellQuote([]), /at least one/);
  });
});
