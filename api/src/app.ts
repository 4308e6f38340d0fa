// Builds the HTTP application around AppModule: request metrics, OpenAPI,
// and the engineer bootstrap.
import "reflect-metadata";
import { NestFactory } from "@nestjs/core";
import type { NestExpressApplication } from "@nestjs/platform-express";
import { DocumentBuilder, SwaggerModule } from "@nestjs/swagger";
import { AppModule, type AppDeps } from "./app.module";
import { nestLogger } from "./http/logging";
import { HttpDrain } from "./http/drain";
import { captureRequestContext } from "./http/request-context";
import { installDeviceEdge } from "./http/device-edge";
import { requestMetrics } from "./http/request-metrics";
import { firstAdminHint } from "./first-admin";
import { EngineerService } from "./services/engineer.service";
import { MetricsService } from "./services/metrics.service";

export async function createApp(deps: AppDeps): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(deps), {
    logger: nestLogger(deps.logger),
    // JSON bodies are parsed by JsonBodyMiddleware, so their errors reach the ErrorFilter.
    bodyParser: false,
    abortOnError: false,
  });
  app.set("trust proxy", deps.config.trustProxy ? 1 : false);
  app.disable("x-powered-by");
  // First in line, while the connection is surely open: the client's address.
  app.use(captureRequestContext);
  // Then: at shutdown, every answer says the connection closes after it.
  app.use(app.get(HttpDrain).middleware);

  app.use(requestMetrics(app.get(MetricsService)));
  // GET /v1/device/tunnel, every device's poll, is answered ahead of all that (see device-edge.ts).
  installDeviceEdge(app, deps);

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
      if (created) deps.logger.info("created engineer admin from SUPPORT_BOOTSTRAP_TOKEN");
    } catch (err) {
      await app.close().catch(() => undefined);
      throw err;
    }
  }
  try {
    if (await app.get(EngineerService).noneYet()) deps.logger.warn(firstAdminHint(deps.config));
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  return app;
}
