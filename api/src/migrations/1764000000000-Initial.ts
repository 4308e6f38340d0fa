// The first schema: tunnels, engineers and the audit log.
import type { MigrationInterface, QueryRunner } from "typeorm";

export class Initial1764000000000 implements MigrationInterface {
  name = "Initial1764000000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "tunnels" (
        "id" uuid PRIMARY KEY,
        "state" integer NOT NULL,
        "network" text NOT NULL,
        "hostname" text,
        "description" text,
        "device_wg_public_key" text NOT NULL,
        "device_token_hash" text NOT NULL,
        "created_at" timestamptz NOT NULL,
        "updated_at" timestamptz NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "server_instance_id" text,
        "server_provider" text,
        "server_public_ip" text,
        "server_wg_port" integer,
        "server_wg_public_key" text,
        "approval" text,
        "approved_by" text,
        "support_user" text,
        "stopped_by" text,
        "stop_reason" text,
        "ended_at" timestamptz
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "tunnels_device_token_hash_key" ON "tunnels" ("device_token_hash")`,
    );
    await queryRunner.query(
      `CREATE INDEX "tunnels_state_expires_at_idx" ON "tunnels" ("state", "expires_at")`,
    );
    await queryRunner.query(`
      CREATE TABLE "engineers" (
        "id" uuid PRIMARY KEY,
        "name" text NOT NULL,
        "role" text NOT NULL,
        "token_hash" text NOT NULL,
        "created_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "engineers_name_key" ON "engineers" ("name")`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "engineers_token_hash_key" ON "engineers" ("token_hash")`,
    );
    await queryRunner.query(`
      CREATE TABLE "audit_entries" (
        "id" uuid PRIMARY KEY,
        "seq" bigint GENERATED ALWAYS AS IDENTITY,
        "tunnel_id" uuid,
        "actor" text NOT NULL,
        "action" text NOT NULL,
        "detail" text,
        "client_address" text,
        "at" timestamptz NOT NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX "audit_entries_tunnel_id_idx" ON "audit_entries" ("tunnel_id", "seq")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit_entries"`);
    await queryRunner.query(`DROP TABLE "engineers"`);
    await queryRunner.query(`DROP TABLE "tunnels"`);
  }
}
