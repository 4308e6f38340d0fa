#!/usr/bin/env node
// Entry point of `support-api`: the one place that turns errors into a message and an exit code.
import "./v8-heap";
import "reflect-metadata";
import { CommanderError } from "commander";
import { ValidationError } from "@support-tunnel/common";
import { buildCli } from "./cli";
import { ConfigError } from "./config";
import { ApiException } from "./services/errors";

async function main(): Promise<number> {
  try {
    await buildCli().parseAsync(process.argv);
    return 0;
  } catch (err) {
    // Help asked for is a success; any other complaint from the parser is a usage error.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ConfigError || err instanceof ValidationError) {
      process.stderr.write(`support-api: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ApiException) {
      process.stderr.write(`support-api: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`support-api: ${(err as Error)?.message ?? String(err)}\n`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  () => process.exit(1),
);
