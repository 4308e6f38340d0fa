// The expiry sweep: tunnels whose time ran out become `timedout`, and group
// memberships whose time ran out end, stopping the tunnels they granted. Runs on
// every replica; the repository's single conditional UPDATE makes that safe, and
// its notification wakes the tunnels' long-polls on every replica.
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from "@nestjs/common";
import type { ApiConfig } from "../config";
import { PinoLogger } from "nestjs-pino";
import { TunnelRepository } from "../repositories/tunnel.repository";
import { AccessService } from "./access.service";
import { API_CONFIG, CLOCK, type Clock } from "./clock";

@Injectable()
export class SweepService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly tunnels: TunnelRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly logger: PinoLogger,
    private readonly access: AccessService,
  ) {
    logger.setContext(SweepService.name);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweepOnce()
        .catch((err: unknown) => this.logger.error({ err }, "expiry sweep failed"))
        .finally(() => (this.running = null));
    }, this.config.sweepIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One sweep; returns the ids it timed out. */
  async sweepOnce(): Promise<string[]> {
    const now = this.clock.now();
    const ended = await this.tunnels.timeOutExpired(now, (t) => ({
      tunnelId: t.id,
      actor: "system",
      action: "tunnel.timeout",
      detail: "expired",
      clientAddress: null,
      at: now,
    }));
    if (ended.length) this.logger.info({ count: ended.length }, "tunnels timed out");
    // Memberships whose time ran out end here, with what they granted, without anyone asking.
    const cut = await this.access.expireMemberships();
    if (cut.length) this.logger.info({ count: cut.length }, "tunnels ended: access expired");
    return [...ended.map((t) => t.id), ...cut];
  }
}
