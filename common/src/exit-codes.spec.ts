import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { EXIT_CODES, ExitCode, exitCodesHelp } from "./exit-codes";

describe("exit codes", () => {
  it("gives every code one name and one meaning, and no number twice", () => {
    assert.deepEqual(
      EXIT_CODES.map((e) => [e.name, e.code]),
      Object.entries(ExitCode),
    );
    assert.equal(new Set(EXIT_CODES.map((e) => e.code)).size, EXIT_CODES.length);
  });

  it("keeps the numbers scripts already depend on", () => {
    assert.deepEqual(ExitCode, {
      Ok: 0,
      Failure: 1,
      Usage: 2,
      Refused: 3,
      Conflict: 4,
      NotFound: 5,
      Unreachable: 6,
      Interrupted: 130,
      SshFailure: 255,
    });
  });

  it("lists in --help only the codes a CLI asks for, each with its meaning", () => {
    const sut = exitCodesHelp([ExitCode.Ok, ExitCode.Refused, ExitCode.Interrupted]);
    assert.equal(
      sut,
      [
        "Exit codes:",
        "    0  success",
        `    3  ${EXIT_CODES[3]!.meaning}`,
        "  130  interrupted (Ctrl-C); what was begun is undone",
      ].join("\n"),
    );
  });

  it("is the table the README documents, row for row", () => {
    const readme = readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");
    const rows = readme
      .split("\n")
      .map((line) => /^\| (\d+) \| (\w+) \| (.+?) \|$/.exec(line))
      .filter((m) => m !== null)
      .map((m) => ({ code: Number(m[1]), name: m[2], meaning: m[3] }));
    assert.deepEqual(rows, EXIT_CODES);
  });
});
