#!/usr/bin/env node
// The `support` binary: the engineer's CLI.
import { main } from "./cli";

void main(process.argv).then((code) => process.exit(code));
