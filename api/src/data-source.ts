// The data source for the TypeORM migration CLI, e.g.
//   npx typeorm migration:show -d api/dist/data-source.js
// It reads the same configuration as the server (DATABASE_URL or the data directory).
import { DataSource } from "typeorm";
import { loadConfig } from "./config";
import { dataSourceOptions } from "./database/database";

export default new DataSource(dataSourceOptions(loadConfig()));
