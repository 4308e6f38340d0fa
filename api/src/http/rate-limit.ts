// The rate limit on tunnel requests, the one unauthenticated route that writes:
// @nestjs/throttler with its counters in the api's database, so the limit holds
// across replicas, per client address as the audit log records it. It runs as
// a guard, before the enrollment secret is checked, so it also slows guessing.
import type { DynamicModule } from "@nestjs/common";
import { ThrottlerModule, type ThrottlerStorage } from "@nestjs/throttler";
import type { Request } from "express";
import type { ApiConfig } from "../config";
import { RateLimitRepository } from "../repositories/rate-limit.repository";
import { requestContextOf } from "./request-context";

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage["increment"]>>;

/** How often counters that are over are deleted. */
const FORGET_EVERY_MS = 60_000;

export class DatabaseThrottlerStorage implements ThrottlerStorage {
  private forgotAt = 0;

  constructor(
    private readonly counters: RateLimitRepository,
    private readonly now: () => number = Date.now,
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    const now = new Date(this.now());
    if (now.getTime() - this.forgotAt >= FORGET_EVERY_MS) {
      this.forgotAt = now.getTime();
      await this.counters.deleteStale(now);
    }
    const hit = await this.counters.hit(key, now, ttl, limit, blockDuration);
    const seconds = (until: Date) =>
      Math.max(0, Math.ceil((until.getTime() - now.getTime()) / 1000));
    return {
      totalHits: hit.hits,
      timeToExpire: seconds(hit.windowEndsAt),
      isBlocked: hit.blockedUntil !== null,
      timeToBlockExpire: hit.blockedUntil ? seconds(hit.blockedUntil) : 0,
    };
  }
}

/** ThrottlerModule for the api: `database` is the DatabaseModule the app imports. */
export function rateLimitModule(database: DynamicModule, config: ApiConfig): DynamicModule {
  return ThrottlerModule.forRootAsync({
    imports: [database],
    inject: [RateLimitRepository],
    useFactory: (counters: RateLimitRepository) => ({
      throttlers: [{ ttl: 60_000, limit: config.rateLimitPerMinute }],
      storage: new DatabaseThrottlerStorage(counters),
      getTracker: (req) => requestContextOf(req as Request).clientAddress ?? "unknown",
      errorMessage: `too many tunnel requests from this address (limit ${config.rateLimitPerMinute} per minute); try again later`,
    }),
  });
}
