// Mocha's settings for every run from the repository root. Specs run compiled
// (`npm run build`) from each workspace's dist/, tiered by file name:
//   *.spec.js      fast: pure logic and fake adapters
//   *.int.spec.js  integration: PostgreSQL, root, namespaces, wg, sshd
//   *.e2e.spec.js  end to end: the real binaries in the lab
// TEST_TIERS picks the tiers to find (`fast`, `int`, `e2e`, comma-separated, or
// `all`), fast first so a broken contract shows before the slow suites start.
// Without it mocha runs only the files named on its command line.
"use strict";

const WORKSPACES = "{testkit,common,api,device,admin,infra,scripts/lab,scripts/bench}";
const TIERS = {
  fast: `${WORKSPACES}/dist/**/!(*.int|*.e2e).spec.js`,
  int: `${WORKSPACES}/dist/**/*.int.spec.js`,
  e2e: `${WORKSPACES}/dist/**/*.e2e.spec.js`,
};

function tiers(value) {
  if (!value) return [];
  const names = value === "all" ? Object.keys(TIERS) : value.split(",").map((t) => t.trim());
  for (const name of names) {
    if (!(name in TIERS)) throw new Error(`TEST_TIERS: unknown tier ${name} (fast, int, e2e, all)`);
  }
  return Object.keys(TIERS)
    .filter((name) => names.includes(name))
    .map((name) => TIERS[name]);
}

module.exports = {
  spec: tiers(process.env.TEST_TIERS),
  timeout: 20000,
  exit: true,
  "enable-source-maps": true,
};
