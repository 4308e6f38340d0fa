import assert from "node:assert/strict";
import { printable, renderTable } from "./display";

describe("terminal display", () => {
  it("aligns columns under the header and leaves no trailing spaces", () => {
    const sut = renderTable(
      ["ID", "STATE", "NOTE"],
      [
        ["a", "pending", "x"],
        ["bbbb", "running", ""],
      ],
    );
    assert.equal(sut, ["ID    STATE    NOTE", "a     pending  x", "bbbb  running"].join("\n"));
  });

  it("shows a hostile description as one inert line: no escape sequence or newline reaches the terminal", () => {
    const sut = renderTable(["DESCRIPTION"], [["ok\u001b[2J\nrm -rf /\u009b"]]);
    assert.equal(sut.split("\n").length, 2);
    assert.ok(!sut.includes("\u001b"));
    assert.equal(printable("tab\there"), "tab?here");
    assert.equal(printable("exe.\u202etxt zero\u200bwidth"), "exe.?txt zero?width");
    assert.equal(printable("ünïcödé ✓"), "ünïcödé ✓");
  });
});
