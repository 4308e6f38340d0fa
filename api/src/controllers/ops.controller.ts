// Operations: liveness, readiness (the database answers) and Prometheus metrics.
import { Controller, Get, Header, ServiceUnavailableException } from "@nestjs/common";
import { ApiExcludeController } from "@nestjs/swagger";
import { HealthRepository } from "../repositories/health.repository";
import { MetricsService } from "../services/metrics.service";

@ApiExcludeController()
@Controller()
export class OpsController {
  constructor(
    private readonly health: HealthRepository,
    private readonly metrics: MetricsService,
  ) {}

  @Get("healthz")
  healthz(): { status: string } {
    return { status: "ok" };
  }

  @Get("readyz")
  async readyz(): Promise<{ status: string }> {
    try {
      await this.health.ping();
    } catch {
      throw new ServiceUnavailableException({ statusCode: 503, message: "database unreachable" });
    }
    return { status: "ready" };
  }

  @Get("metrics")
  @Header("content-type", "text/plain; version=0.0.4; charset=utf-8")
  metricsText(): Promise<string> {
    return this.metrics.render();
  }
}
