// What a fresh api with no engineer says in its log: how to make the first admin,
// as a command to copy. With the embedded database the server holds the data
// directory, so it must be stopped first.
import type { ApiConfig } from "./config";

export function firstAdminHint(config: Pick<ApiConfig, "databaseUrl" | "dataDir">): string {
  const how = config.databaseUrl
    ? "run `support-api engineer add NAME --role admin` with the same DATABASE_URL"
    : `stop this server, run \`support-api engineer add NAME --role admin --data-dir ${config.dataDir}\`, and start it again`;
  return `no engineer exists yet: to create the first admin, ${how} (it prints their token once); or start with SUPPORT_BOOTSTRAP_TOKEN=$(support-api token)`;
}
