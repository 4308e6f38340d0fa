#!/usr/bin/env node
// Committed launcher, so npm links this binary at install time, before `tsc -b` has built dist/.
require("../dist/bin.js");
