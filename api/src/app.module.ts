// Wires the api together. The configuration, clock and logger are passed in,
// so tests can run the real app on a fresh database with a clock they control.
import {
  Module,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
} from "@nestjs/common";
import { APP_FILTER, APP_INTERCEPTOR } from "@nestjs/core";
import { LoggerModule } from "nestjs-pino";
import type { Logger } from "pino";
import type { ApiConfig } from "./config";
import { AccessController } from "./controllers/access.controller";
import { AuditController } from "./controllers/audit.controller";
import { FleetController } from "./controllers/fleet.controller";
import { DeviceTunnelController } from "./controllers/device-tunnel.controller";
import { EngineerController } from "./controllers/engineer.controller";
import { OpsController } from "./controllers/ops.controller";
import { TunnelController } from "./controllers/tunnel.controller";
import { DatabaseModule } from "./database/database.module";
import { TUNNEL_CHANGE_FEED, type TunnelChangeFeed } from "./database/tunnel-change-feed";
import { DeviceGuard, EngineerGuard } from "./http/auth.guard";
import { HttpDrain } from "./http/drain";
import { ErrorFilter } from "./http/error.filter";
import { JsonBodyMiddleware } from "./http/json-body.middleware";
import { RequestLogInterceptor, loggerParams } from "./http/logging";
import { rateLimitModule } from "./http/rate-limit";
import { TunnelRepository } from "./repositories/tunnel.repository";
import { AccessService } from "./services/access.service";
import { AuditService } from "./services/audit.service";
import { AuthService } from "./services/auth.service";
import { DeviceService } from "./services/device.service";
import { API_CONFIG, CLOCK, type Clock } from "./services/clock";
import { EngineerService } from "./services/engineer.service";
import { MetricsService } from "./services/metrics.service";
import { SweepService } from "./services/sweep.service";
import { DeviceRepository } from "./repositories/device.repository";
import { LastRequests } from "./services/last-requests.service";
import { TunnelWatcher } from "./services/tunnel-watcher.service";
import { TunnelService } from "./services/tunnel.service";

export interface AppDeps {
  config: ApiConfig;
  clock: Clock;
  /** The root logger: request logs and the api's own events go through it. */
  logger: Logger;
}

@Module({})
export class AppModule implements NestModule {
  static forRoot(deps: AppDeps): DynamicModule {
    const database = DatabaseModule.forRoot(deps.config, {
      migrate: true,
      log: (level, msg, fields) => deps.logger[level](fields ?? {}, msg),
    });
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot(loggerParams(deps.logger)),
        database,
        rateLimitModule(database, deps.config),
      ],
      controllers: [
        DeviceTunnelController,
        TunnelController,
        EngineerController,
        AccessController,
        AuditController,
        FleetController,
        OpsController,
      ],
      providers: [
        { provide: API_CONFIG, useValue: deps.config },
        { provide: CLOCK, useValue: deps.clock },
        { provide: APP_FILTER, useClass: ErrorFilter },
        { provide: APP_INTERCEPTOR, useClass: RequestLogInterceptor },
        AccessService,
        AuditService,
        { provide: HttpDrain, useValue: new HttpDrain() },
        AuthService,
        DeviceService,
        EngineerService,
        MetricsService,
        SweepService,
        // A factory: the watcher's options are not Nest's to inject.
        {
          provide: TunnelWatcher,
          useFactory: (tunnels: TunnelRepository, feed: TunnelChangeFeed) =>
            new TunnelWatcher(tunnels, feed, {
              rereadMs: deps.config.longPollRereadMs,
              onError: (err) => deps.logger.error({ err }, "long-poll re-read failed"),
            }),
          inject: [TunnelRepository, TUNNEL_CHANGE_FEED],
        },
        {
          provide: LastRequests,
          useFactory: (devices: DeviceRepository) =>
            new LastRequests(devices, {
              flushMs: deps.config.lastRequestFlushMs,
              onError: (err) => deps.logger.error({ err }, "writing devices' last requests failed"),
            }),
          inject: [DeviceRepository],
        },
        TunnelService,
        DeviceGuard,
        EngineerGuard,
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonBodyMiddleware).forRoutes("*");
  }
}
