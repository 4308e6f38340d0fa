// The three binaries are linked by the workspaces, so `npx support ...` and
// friends work right after `npm install` and a build.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const BIN_DIR = path.resolve(__dirname, "..", "..", "..", "node_modules", ".bin");

describe("installed binaries", () => {
  for (const [name, says] of [
    ["support", /engineer/i],
    ["support-device", /device/i],
    ["support-api", /api/i],
  ] as const) {
    it(`links ${name} into node_modules/.bin and answers --help`, () => {
      const bin = path.join(BIN_DIR, name);
      assert.ok(fs.existsSync(bin), `${bin} is missing`);
      const help = execFileSync(bin, ["--help"], { encoding: "utf8", timeout: 30_000 });
      assert.match(help, new RegExp(`Usage: ${name} `));
      assert.match(help, says);
    });
  }
});
