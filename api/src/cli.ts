// The `support-api` command line: declares commands and flags, nothing else.
import { join } from "node:path";
import { packageVersion } from "@support-tunnel/common";
import { Command } from "commander";
import { engineerAdd, engineerRevoke } from "./commands/engineer";
import { migrate } from "./commands/migrate";
import { serve } from "./commands/serve";
import { newEngineerToken } from "./services/tokens";

interface DbFlags {
  dataDir?: string;
}

export function buildCli(
  print: (line: string) => void = (line) => process.stdout.write(line + "\n"),
): Command {
  const program = new Command("support-api")
    .description("The support-tunnel bookkeeping api")
    .version(packageVersion(join(__dirname, "..")), "-V, --version", "print the version")
    .showHelpAfterError()
    .exitOverride();

  const dataDirFlag = "--data-dir <dir>";
  const dataDirHelp =
    "embedded database directory when DATABASE_URL is unset (env SUPPORT_API_DATA_DIR)";

  program
    .command("serve")
    .description("run the HTTP api (creates and migrates the database on first start)")
    .option("--port <port>", "port to listen on, 0 for any (env PORT, default 8080)")
    .option("--host <host>", "address to listen on (env HOST, default 0.0.0.0)")
    .option(dataDirFlag, dataDirHelp)
    .action((opts: { port?: string; host?: string; dataDir?: string }) => serve(opts));

  program
    .command("migrate")
    .description("apply pending database migrations")
    .option(dataDirFlag, dataDirHelp)
    .action(async (opts: DbFlags) => {
      const ran = await migrate(opts);
      print(ran.length ? `applied: ${ran.join(", ")}` : "database is up to date");
    });

  const engineer = program
    .command("engineer")
    .description("manage engineers directly on the database");
  engineer
    .command("add <name>")
    .description("create an engineer and print their token (shown only this once)")
    .requiredOption("--role <role>", "viewer, operator or admin")
    .option(dataDirFlag, dataDirHelp)
    .action(async (name: string, opts: DbFlags & { role: string }) => {
      const created = await engineerAdd(name, opts.role, { dataDir: opts.dataDir });
      print(created.token);
    });
  engineer
    .command("revoke <name>")
    .description("delete an engineer; their token stops working at once")
    .option(dataDirFlag, dataDirHelp)
    .action(async (name: string, opts: DbFlags) => {
      await engineerRevoke(name, { dataDir: opts.dataDir });
      print(`revoked ${name}`);
    });

  program
    .command("token")
    .description("print a fresh engineer token, e.g. for SUPPORT_BOOTSTRAP_TOKEN")
    .action(() => print(newEngineerToken()));

  return program;
}
