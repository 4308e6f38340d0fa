#!/usr/bin/env node
// Runs every compiled spec with mocha. Tiers by file name:
//   *.spec.js      fast: pure logic and fake adapters
//   *.int.spec.js  integration: PostgreSQL, root, namespaces, wg, sshd
//   *.e2e.spec.js  end to end: the real binaries in the lab
// `--fast` leaves the last two out. Extra arguments go to mocha.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const PACKAGES = ["common", "api", "device", "admin", "infra", "scripts/lab"];
const args = process.argv.slice(2);
const fast = args.includes("--fast");
const mochaArgs = args.filter((a) => a !== "--fast");

function specs(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return specs(full);
    return entry.name.endsWith(".spec.js") ? [full] : [];
  });
}

const files = PACKAGES.flatMap((pkg) => specs(path.join(root, pkg, "dist")))
  .filter((f) => !fast || !/\.(int|e2e)\.spec\.js$/.test(f))
  // fast tiers first: a broken contract shows before the slow suites start
  .sort((a, b) => tier(a) - tier(b) || a.localeCompare(b));

function tier(f) {
  return f.endsWith(".e2e.spec.js") ? 2 : f.endsWith(".int.spec.js") ? 1 : 0;
}

if (files.length === 0) {
  console.error("run-tests: no compiled specs found; run `npm run build` first");
  process.exit(1);
}

const mocha = require.resolve("mocha/bin/mocha.js");
const result = spawnSync(
  process.execPath,
  [mocha, "--enable-source-maps", "--timeout", "20000", "--exit", ...mochaArgs, ...files],
  { stdio: "inherit", cwd: root },
);
process.exit(result.status ?? 1);
