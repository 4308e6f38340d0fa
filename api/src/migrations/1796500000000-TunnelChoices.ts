// The customer's choices at request time: the support case, the earliest time
// access opens, and the engineers allowed to approve. Null: none chosen.
import type { MigrationInterface, QueryRunner } from "typeorm";

export class TunnelChoices1796500000000 implements MigrationInterface {
  name = "TunnelChoices1796500000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "tunnels"
        ADD COLUMN "ticket" text,
        ADD COLUMN "not_before" timestamptz,
        ADD COLUMN "allowed_engineers" text array`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "tunnels"
        DROP COLUMN "allowed_engineers",
        DROP COLUMN "not_before",
        DROP COLUMN "ticket"`);
  }
}
