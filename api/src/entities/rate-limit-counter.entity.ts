// One rate-limit counter: the hits of one client on one limited route in the
// current window, shared by every replica on the database.
import { Column, Entity, Index, PrimaryColumn } from "typeorm";

@Entity({ name: "rate_limit_counters" })
export class RateLimitCounterEntity {
  /** The throttler's key: a hash of the route and the client address, never the address itself. */
  @PrimaryColumn({ type: "text" })
  key!: string;

  @Column({ type: "integer" })
  hits!: number;

  @Index("rate_limit_counters_window_ends_at_idx")
  @Column({ name: "window_ends_at", type: "timestamptz" })
  windowEndsAt!: Date;

  /** Set when the client went over the limit: refused until then. */
  @Column({ name: "blocked_until", type: "timestamptz", nullable: true })
  blockedUntil!: Date | null;
}
