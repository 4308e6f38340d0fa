// `support-api migrate`: apply pending migrations and say which ran.
import { loadConfig, type ConfigOverrides, type Env } from "../config";
import { MigrationService } from "../database/database.module";
import { withDatabase } from "./database-context";

export function migrate(options: ConfigOverrides, env?: Env): Promise<string[]> {
  return withDatabase(loadConfig(env, options), { migrate: false }, (app) =>
    app.get(MigrationService).run(),
  );
}
