// The device ports the customer lets support forward (`--allow-port`). Shown to
// engineers only: the device enforces its own record of them. Empty: none but SSH.
import type { MigrationInterface, QueryRunner } from "typeorm";

export class AllowedPorts1797200000000 implements MigrationInterface {
  name = "AllowedPorts1797200000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "tunnels"
        ADD COLUMN "allowed_ports" integer array NOT NULL DEFAULT '{}'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tunnels" DROP COLUMN "allowed_ports"`);
  }
}
