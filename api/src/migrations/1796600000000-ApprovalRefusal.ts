// The device's refusal of the last approval (its kind and when), kept on the
// tunnel so the engineer's `create` can say why the tunnel is pending again.
import type { MigrationInterface, QueryRunner } from "typeorm";

export class ApprovalRefusal1796600000000 implements MigrationInterface {
  name = "ApprovalRefusal1796600000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "tunnels"
        ADD COLUMN "refusal_kind" text,
        ADD COLUMN "refused_at" timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "tunnels"
        DROP COLUMN "refused_at",
        DROP COLUMN "refusal_kind"`);
  }
}
