// The `migrate` and `engineer` commands work on the database directly: inside
// a Nest application context holding the database and the engineer rules, the
// same modules and services the HTTP api uses, without the HTTP part.
import { Module, type DynamicModule, type INestApplicationContext } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import type { ApiConfig } from "../config";
import { DatabaseModule } from "../database/database.module";
import { createLogger, nestLogger } from "../http/logging";
import { API_CONFIG, CLOCK, systemClock } from "../services/clock";
import { EngineerService } from "../services/engineer.service";

@Module({})
class CommandModule {
  static forRoot(config: ApiConfig, migrate: boolean): DynamicModule {
    return {
      module: CommandModule,
      imports: [
        DatabaseModule.forRoot(config, {
          migrate,
          // On stderr: stdout is the command's answer (e.g. the token of `engineer add`).
          log: (_level, msg) => process.stderr.write(`support-api: ${msg}\n`),
        }),
      ],
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: CLOCK, useValue: systemClock },
        EngineerService,
      ],
    };
  }
}

/** Runs `fn` in an application context on the configured database, closed afterwards. */
export async function withDatabase<T>(
  config: ApiConfig,
  opts: { migrate: boolean },
  fn: (app: INestApplicationContext) => Promise<T>,
): Promise<T> {
  const app = await NestFactory.createApplicationContext(
    CommandModule.forRoot(config, opts.migrate),
    { logger: nestLogger(createLogger(config.logLevel)), abortOnError: false },
  );
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}
