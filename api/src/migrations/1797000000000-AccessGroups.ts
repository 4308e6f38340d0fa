// Who may help whom: customers with their own enrollment secret (hashed),
// groups of engineers with delegated roles serving customers, the customer and
// device of each tunnel, and the devices of the fleet.
import type { MigrationInterface, QueryRunner } from "typeorm";

export class AccessGroups1797000000000 implements MigrationInterface {
  name = "AccessGroups1797000000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "customers" (
        "id" uuid PRIMARY KEY,
        "name" text NOT NULL,
        "enrollment_secret_hash" text NOT NULL,
        "created_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "customers_name_key" ON "customers" ("name")`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "customers_enrollment_secret_hash_key" ON "customers" ("enrollment_secret_hash")`,
    );
    await queryRunner.query(`
      CREATE TABLE "groups" (
        "id" uuid PRIMARY KEY,
        "name" text NOT NULL,
        "created_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "groups_name_key" ON "groups" ("name")`);
    await queryRunner.query(`
      CREATE TABLE "group_members" (
        "group_id" uuid NOT NULL,
        "engineer_id" uuid NOT NULL,
        "role" text NOT NULL,
        "expires_at" timestamptz,
        "created_at" timestamptz NOT NULL,
        PRIMARY KEY ("group_id", "engineer_id"),
        CONSTRAINT "group_members_group_id_fkey" FOREIGN KEY ("group_id")
          REFERENCES "groups" ("id") ON DELETE CASCADE,
        CONSTRAINT "group_members_engineer_id_fkey" FOREIGN KEY ("engineer_id")
          REFERENCES "engineers" ("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE INDEX "group_members_engineer_id_idx" ON "group_members" ("engineer_id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "group_members_expires_at_idx" ON "group_members" ("expires_at")`,
    );
    await queryRunner.query(`
      CREATE TABLE "group_customers" (
        "group_id" uuid NOT NULL,
        "customer_id" uuid NOT NULL,
        PRIMARY KEY ("group_id", "customer_id"),
        CONSTRAINT "group_customers_group_id_fkey" FOREIGN KEY ("group_id")
          REFERENCES "groups" ("id") ON DELETE CASCADE,
        CONSTRAINT "group_customers_customer_id_fkey" FOREIGN KEY ("customer_id")
          REFERENCES "customers" ("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE INDEX "group_customers_customer_id_idx" ON "group_customers" ("customer_id")`,
    );
    await queryRunner.query(`
      CREATE TABLE "devices" (
        "id" uuid PRIMARY KEY,
        "customer_id" uuid,
        "hostname" text,
        "first_seen_at" timestamptz NOT NULL,
        "last_request_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "devices_customer_id_idx" ON "devices" ("customer_id")`);
    await queryRunner.query(`
      ALTER TABLE "tunnels"
        ADD COLUMN "customer_id" uuid,
        ADD COLUMN "device_id" uuid`);
    await queryRunner.query(`CREATE INDEX "tunnels_customer_id_idx" ON "tunnels" ("customer_id")`);
    await queryRunner.query(`CREATE INDEX "tunnels_device_id_idx" ON "tunnels" ("device_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "tunnels_device_id_idx"`);
    await queryRunner.query(`DROP INDEX "tunnels_customer_id_idx"`);
    await queryRunner.query(
      `ALTER TABLE "tunnels" DROP COLUMN "device_id", DROP COLUMN "customer_id"`,
    );
    await queryRunner.query(`DROP TABLE "devices"`);
    await queryRunner.query(`DROP TABLE "group_customers"`);
    await queryRunner.query(`DROP TABLE "group_members"`);
    await queryRunner.query(`DROP TABLE "groups"`);
    await queryRunner.query(`DROP TABLE "customers"`);
  }
}
