// The database as a Nest module: TypeORM through @nestjs/typeorm on PostgreSQL
// or embedded PGlite, the repositories over it, and the migrations. The HTTP
// app and the `migrate` and `engineer` commands all open the database through it.
import { Injectable, Module, type DynamicModule } from "@nestjs/common";
import { TypeOrmModule } from "@nestjs/typeorm";
import { DataSource } from "typeorm";
import { AccessRepository } from "../repositories/access.repository";
import { AuditRepository } from "../repositories/audit.repository";
import { CustomerRepository } from "../repositories/customer.repository";
import { DeviceRepository } from "../repositories/device.repository";
import { EngineerRepository } from "../repositories/engineer.repository";
import { GroupRepository } from "../repositories/group.repository";
import { HealthRepository } from "../repositories/health.repository";
import { RateLimitRepository } from "../repositories/rate-limit.repository";
import { TunnelSessionRepository } from "../repositories/tunnel-session.repository";
import { TunnelRepository } from "../repositories/tunnel.repository";
import {
  dataSourceOptions,
  ENTITIES,
  isTransientConnectError,
  openDataSource,
  runMigrations,
  type DatabaseConfig,
} from "./database";
import type { DatabaseEventLog } from "./pglite-driver";
import { openTunnelChangeFeed, TUNNEL_CHANGE_FEED } from "./tunnel-change-feed";

/** Applies pending migrations on demand (`support-api migrate`). */
@Injectable()
export class MigrationService {
  constructor(private readonly dataSource: DataSource) {}

  run(): Promise<string[]> {
    return runMigrations(this.dataSource);
  }
}

export interface DatabaseModuleOptions {
  /** Apply pending migrations when the database opens. */
  migrate: boolean;
  /**
   * While PostgreSQL is not reachable yet (a database container starting next
   * to the api), try again this many times, this far apart. Default 30 × 1 s.
   */
  connectRetry?: { attempts: number; delayMs: number };
  /** Hears of slow steps worth telling an operator about (the embedded database's first start). */
  log?: DatabaseEventLog;
}

const REPOSITORIES = [
  AccessRepository,
  AuditRepository,
  CustomerRepository,
  DeviceRepository,
  EngineerRepository,
  GroupRepository,
  HealthRepository,
  RateLimitRepository,
  TunnelRepository,
  TunnelSessionRepository,
];

@Module({})
export class DatabaseModule {
  static forRoot(config: DatabaseConfig, opts: DatabaseModuleOptions): DynamicModule {
    const retry = opts.connectRetry ?? { attempts: 30, delayMs: 1000 };
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...dataSourceOptions(config, opts.log),
            // The embedded database is a directory: there is nothing to wait for.
            retryAttempts: config.databaseUrl ? retry.attempts : 0,
            retryDelay: retry.delayMs,
            toRetry: (err: unknown) => config.databaseUrl !== null && isTransientConnectError(err),
            verboseRetryLog: true,
          }),
          dataSourceFactory: (options) => openDataSource(options!, { migrate: opts.migrate }),
        }),
        TypeOrmModule.forFeature(ENTITIES),
      ],
      providers: [
        ...REPOSITORIES,
        MigrationService,
        // Made here, started by whoever waits on changes (the HTTP api's long-polls).
        {
          provide: TUNNEL_CHANGE_FEED,
          useFactory: (dataSource: DataSource) =>
            openTunnelChangeFeed(config, dataSource, opts.log ?? (() => undefined)),
          inject: [DataSource],
        },
      ],
      exports: [...REPOSITORIES, MigrationService, TUNNEL_CHANGE_FEED],
    };
  }
}
