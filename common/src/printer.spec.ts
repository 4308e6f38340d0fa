import assert from "node:assert/strict";
import { Printer } from "./printer";

const ESC = String.fromCharCode(27);

function capture(options: { json?: boolean; tty?: boolean }) {
  const out = { stdout: "", stderr: "" };
  const sut = new Printer({
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    json: options.json ?? false,
    tty: options.tty ?? false,
  });
  return { sut, out };
}

describe("Printer", () => {
  it("prints data as JSON on stdout under --json, and the human form otherwise", () => {
    const json = capture({ json: true });
    json.sut.data({ a: 1 }, () => "human");
    assert.deepEqual(JSON.parse(json.out.stdout), { a: 1 });
    const human = capture({});
    human.sut.data({ a: 1 }, () => "human");
    assert.equal(human.out.stdout, "human\n");
  });

  it("writes steps as plain lines on stderr when not a terminal", () => {
    const { sut, out } = capture({});
    const step = sut.step("obtaining a server");
    step.update("booting");
    step.done("server ready");
    assert.equal(out.stdout, "");
    assert.match(out.stderr, /^… obtaining a server\n {2}booting\n✓ server ready \(\d+\.\d s\)\n$/);
    assert.ok(!out.stderr.includes(ESC), "no terminal escapes in plain output");
  });

  it("draws a spinner that ends on its own line on a terminal", () => {
    const { sut, out } = capture({ tty: true });
    sut.step("waiting").fail("device never came");
    assert.ok(out.stderr.endsWith(`\r${ESC}[2K✗ device never came\n`));
  });
});
