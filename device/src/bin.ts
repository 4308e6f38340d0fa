#!/usr/bin/env node
// Entry point of `support-device`: runs the CLI and exits with its code.
import "./v8-flags"; // first: before anything is compiled
import { main } from "./main";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
