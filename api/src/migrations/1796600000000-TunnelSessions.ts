// Support's sessions on a device, as the device reports them (who, when, exit
// code; no content): what gives the `connected` state its meaning.
import type { MigrationInterface, QueryRunner } from "typeorm";

export class TunnelSessions1796600000000 implements MigrationInterface {
  name = "TunnelSessions1796600000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "tunnel_sessions" (
        "tunnel_id" uuid NOT NULL,
        "session_id" text NOT NULL,
        "engineer" text,
        "started_at" timestamptz NOT NULL,
        "ended_at" timestamptz,
        "exit_code" integer,
        CONSTRAINT "tunnel_sessions_pkey" PRIMARY KEY ("tunnel_id", "session_id")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "tunnel_sessions"`);
  }
}
