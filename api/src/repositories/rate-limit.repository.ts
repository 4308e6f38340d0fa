// Rate-limit counters: fixed windows per key, counted in the database so every
// replica sees the same hits. A client over the limit is blocked for a while.
import { Injectable } from "@nestjs/common";
import { InjectRepository } from "@nestjs/typeorm";
import { IsNull, LessThan, Or, type Repository } from "typeorm";
import { RateLimitCounterEntity } from "../entities/rate-limit-counter.entity";

export interface Hit {
  /** Hits in the current window, this one included. */
  hits: number;
  windowEndsAt: Date;
  /** Non-null while the key is refused (this hit included). */
  blockedUntil: Date | null;
}

@Injectable()
export class RateLimitRepository {
  constructor(
    @InjectRepository(RateLimitCounterEntity)
    private readonly counters: Repository<RateLimitCounterEntity>,
  ) {}

  /**
   * Counts one hit for `key` at `now`. Over `limit` hits in a window of
   * `windowMs` blocks the key for `blockMs`; hits while blocked are refused
   * and not counted. The row lock makes concurrent hits (any replica) count once each.
   */
  hit(key: string, now: Date, windowMs: number, limit: number, blockMs: number): Promise<Hit> {
    const at = (ms: number) => new Date(now.getTime() + ms);
    return this.counters.manager.transaction(async (manager) => {
      await manager
        .createQueryBuilder()
        .insert()
        .into(RateLimitCounterEntity)
        .values({ key, hits: 0, windowEndsAt: at(windowMs), blockedUntil: null })
        .orIgnore()
        .execute();
      const counter = await manager.findOneOrFail(RateLimitCounterEntity, {
        where: { key },
        lock: { mode: "pessimistic_write" },
      });
      if (counter.blockedUntil && counter.blockedUntil > now) return counter;
      const fresh = counter.windowEndsAt <= now;
      const next: Hit = {
        hits: (fresh ? 0 : counter.hits) + 1,
        windowEndsAt: fresh ? at(windowMs) : counter.windowEndsAt,
        blockedUntil: null,
      };
      if (next.hits > limit) next.blockedUntil = at(blockMs);
      await manager.update(RateLimitCounterEntity, { key }, next);
      return next;
    });
  }

  /** Forgets counters whose window and block are both over; how many. */
  async deleteStale(now: Date): Promise<number> {
    const result = await this.counters.delete({
      windowEndsAt: LessThan(now),
      blockedUntil: Or(IsNull(), LessThan(now)),
    });
    return result.affected ?? 0;
  }
}
