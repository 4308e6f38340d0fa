// `support-api migrate`: apply pending migrations and say which ran.
import { loadConfig, type ConfigOverrides, type Env } from "../config";
import { migrate as runMigrations, openDatabase } from "../database/database";

export async function migrate(options: ConfigOverrides, env?: Env): Promise<string[]> {
  const config = loadConfig(env, options);
  const dataSource = await openDatabase(config, { migrate: false });
  try {
    return await runMigrations(dataSource);
  } finally {
    await dataSource.destroy();
  }
}
