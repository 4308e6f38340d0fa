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
   * and not counted. One statement: concurrent hits (any replica) count once
   * each, and a counter forgotten by `deleteStale` at the same moment is made
   * anew rather than lost between an insert and a read (which was a 500 for
   * the device asking).
   */
  async hit(
    key: string,
    now: Date,
    windowMs: number,
    limit: number,
    blockMs: number,
  ): Promise<Hit> {
    const at = (ms: number) => new Date(now.getTime() + ms);
    // $1 key, $2 now, $3 a new window's end, $4 limit, $5 a new block's end.
    const rows: { hits: number; window_ends_at: Date; blocked_until: Date | null }[] =
      await this.counters.manager.query(
        `INSERT INTO "rate_limit_counters" AS c ("key", "hits", "window_ends_at", "blocked_until")
         VALUES ($1, 1, $3, CASE WHEN 1 > $4 THEN $5::timestamptz END)
         ON CONFLICT ("key") DO UPDATE SET
           "hits" = CASE
             WHEN c."blocked_until" > $2 THEN c."hits"
             WHEN c."window_ends_at" <= $2 THEN 1
             ELSE c."hits" + 1 END,
           "window_ends_at" = CASE
             WHEN c."blocked_until" > $2 OR c."window_ends_at" > $2 THEN c."window_ends_at"
             ELSE $3 END,
           "blocked_until" = CASE
             WHEN c."blocked_until" > $2 THEN c."blocked_until"
             WHEN (CASE WHEN c."window_ends_at" <= $2 THEN 1 ELSE c."hits" + 1 END) > $4
               THEN $5::timestamptz
             END
         RETURNING "hits", "window_ends_at", "blocked_until"`,
        [key, now, at(windowMs), limit, at(blockMs)],
      );
    const row = rows[0]!;
    return {
      hits: Number(row.hits),
      windowEndsAt: new Date(row.window_ends_at),
      blockedUntil: row.blocked_until === null ? null : new Date(row.blocked_until),
    };
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
