// Admins' view of engineers and of the whole audit log: who created each
// engineer, who was revoked (their row is deleted, so kept apart), and an index
// for reading the log newest first across tunnels.
import type { MigrationInterface, QueryRunner } from "typeorm";

export class EngineersAndAudit1797100000000 implements MigrationInterface {
  name = "EngineersAndAudit1797100000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "engineers" ADD COLUMN "created_by" text`);
    // Engineers from before: their creator as the audit log recorded it
    // ("<name> as <role>" by engineer.create, the bootstrap admin by the system).
    await queryRunner.query(`
      UPDATE "engineers" e SET "created_by" = a."actor"
      FROM (
        SELECT DISTINCT ON (split_part("detail", ' ', 1)) split_part("detail", ' ', 1) AS "name", "actor"
        FROM "audit_entries"
        WHERE "tunnel_id" IS NULL AND "action" = 'engineer.create'
        ORDER BY split_part("detail", ' ', 1), "seq" DESC
      ) a
      WHERE a."name" = e."name"`);
    await queryRunner.query(`
      UPDATE "engineers" SET "created_by" = 'system'
      WHERE "created_by" IS NULL AND "name" = 'admin'
        AND EXISTS (SELECT 1 FROM "audit_entries" WHERE "action" = 'engineer.bootstrap')`);
    await queryRunner.query(`
      CREATE TABLE "engineer_revocations" (
        "id" uuid PRIMARY KEY,
        "name" text NOT NULL,
        "role" text NOT NULL,
        "created_at" timestamptz NOT NULL,
        "created_by" text,
        "revoked_at" timestamptz NOT NULL,
        "revoked_by" text NOT NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX "engineer_revocations_revoked_at_idx" ON "engineer_revocations" ("revoked_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "audit_entries_at_seq_idx" ON "audit_entries" ("at", "seq")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "audit_entries_at_seq_idx"`);
    await queryRunner.query(`DROP TABLE "engineer_revocations"`);
    await queryRunner.query(`ALTER TABLE "engineers" DROP COLUMN "created_by"`);
  }
}
