// `support config get/set/unset/list`: the engineer's config file, one key at a
// time. Every change is checked (the key, its value, then the whole file) before
// the file is written, so a refused change leaves the file as it was.
import { readConfigFile, writeConfigFile } from "../config";
import {
  CONFIG_KEYS,
  configKey,
  configValue,
  formatConfigValue,
  withConfigValue,
  withoutConfigValue,
} from "../config-keys";
import type { Context } from "../context";
import { CliError, ExitCode } from "../errors";

export interface ConfigKeyOptions {
  key: string;
  ctx: Context;
}

/** Every key that is set, as `key value` lines (`--json`: one object). */
export async function configList({ ctx }: { ctx: Context }): Promise<Record<string, unknown>> {
  const file = await readConfigFile(ctx.config.path);
  const set: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const value = configValue(file, key);
    if (value !== undefined) set[key.name] = value;
  }
  ctx.printer.data(set, () =>
    Object.entries(set)
      .map(([name, value]) => `${name} ${formatConfigValue(value)}`)
      .join("\n"),
  );
  return set;
}

/** One key's value on stdout; a key that is not set fails (exit 1) so scripts can tell. */
export async function configGet({ key: name, ctx }: ConfigKeyOptions): Promise<unknown> {
  const key = configKey(name);
  const value = configValue(await readConfigFile(ctx.config.path), key);
  if (value === undefined) throw new CliError(`${key.name} is not set in ${ctx.config.path}`);
  ctx.printer.data({ [key.name]: value }, () => formatConfigValue(value));
  return value;
}

export async function configSet(options: ConfigKeyOptions & { value: string }): Promise<void> {
  const { ctx } = options;
  const key = configKey(options.key);
  const next = withConfigValue(await readConfigFile(ctx.config.path), key, options.value);
  await write(ctx, next);
  ctx.printer.info(`${key.name} set in ${ctx.config.path}`);
}

export async function configUnset({ key: name, ctx }: ConfigKeyOptions): Promise<void> {
  const key = configKey(name);
  const file = await readConfigFile(ctx.config.path);
  if (configValue(file, key) === undefined) {
    ctx.printer.info(`${key.name} was not set`);
    return;
  }
  await write(ctx, withoutConfigValue(file, key));
  ctx.printer.info(`${key.name} removed from ${ctx.config.path}`);
}

async function write(ctx: Context, next: Parameters<typeof writeConfigFile>[1]): Promise<void> {
  try {
    await writeConfigFile(ctx.config.path, next);
  } catch (err) {
    // The gcp section is checked by its provider; the rest by the file's schema.
    if (err instanceof Error && err.name === "ValidationError")
      throw new CliError(`config not changed: ${err.message}`, ExitCode.Usage);
    throw err;
  }
}
