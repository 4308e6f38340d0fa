// Rate-limit counters in the database, so a limit holds across replicas.
import type { MigrationInterface, QueryRunner } from "typeorm";

export class RateLimitCounters1796148565613 implements MigrationInterface {
  name = "RateLimitCounters1796148565613";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "rate_limit_counters" (
        "key" text PRIMARY KEY,
        "hits" integer NOT NULL,
        "window_ends_at" timestamptz NOT NULL,
        "blocked_until" timestamptz
      )`);
    await queryRunner.query(
      `CREATE INDEX "rate_limit_counters_window_ends_at_idx" ON "rate_limit_counters" ("window_ends_at")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "rate_limit_counters"`);
  }
}
