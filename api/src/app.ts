// Builds the HTTP application around AppModule: body parsing, error bodies,
// request logs and metrics, OpenAPI, and the engineer bootstrap.
import "reflect-metadata";
import { NestFactory } from "@nestjs/core";
import type { NestExpressApplication } from "@nestjs/platform-express";
import { DocumentBuilder, SwaggerModule } from "@nestjs/swagger";
import express, { type NextFunction, type Request, type Response } from "express";
import { AppModule, type AppDeps } from "./app.module";
import { ErrorFilter } from "./http/error.filter";
import { clientAddressOf } from "./http/request-context";
import { EngineerService } from "./services/engineer.service";
import { MetricsService } from "./services/metrics.service";

const QUIET_ROUTES = new Set(["/healthz", "/readyz", "/metrics"]);

export async function createApp(deps: AppDeps): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(deps), {
    logger: deps.logger,
    bodyParser: false,
    abortOnError: false,
  });
  app.set("trust proxy", deps.config.trustProxy ? 1 : false);
  app.disable("x-powered-by");

  const metrics = app.get(MetricsService);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const routePath = (req.route as { path?: string } | undefined)?.path;
      const route = routePath ? `${req.baseUrl}${routePath}` : "unmatched";
      metrics.observe(req.method, route, res.statusCode, seconds);
      deps.logger.event(QUIET_ROUTES.has(route) ? "debug" : "info", "request", {
        method: req.method,
        route,
        status: res.statusCode,
        ms: Math.round(seconds * 1000),
        clientAddress: clientAddressOf(req),
      });
    });
    next();
  });
  app.use(express.json({ limit: "64kb", type: ["application/json", "application/*+json"] }));
  app.useGlobalFilters(new ErrorFilter(deps.logger));
  // body-parser errors happen before Nest's routing; answer them in the api's error shape too.
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (!err) return next();
    const e = err as { status?: number; type?: string };
    const status =
      typeof e.status === "number" && e.status >= 400 && e.status < 500 ? e.status : 400;
    const message =
      e.type === "entity.too.large"
        ? "body: too large (at most 64 KiB)"
        : "body: must be valid JSON";
    res.status(status).json({ statusCode: status, message, field: "body" });
  });

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle("support-tunnel api")
      .setDescription("Bookkeeping for consent-based, ephemeral remote support tunnels")
      .setVersion("1")
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup("docs", app, document, {
    jsonDocumentUrl: "openapi.json",
    yamlDocumentUrl: "openapi.yaml",
  });

  if (deps.config.bootstrapToken) {
    try {
      const created = await app.get(EngineerService).bootstrap(deps.config.bootstrapToken);
      if (created) deps.logger.event("info", "created engineer admin from SUPPORT_BOOTSTRAP_TOKEN");
    } catch (err) {
      await app.close().catch(() => undefined);
      throw err;
    }
  }
  return app;
}
