// Engineers and their hashed tokens.
import { randomUUID } from "node:crypto";
import { Injectable } from "@nestjs/common";
import { DataSource } from "typeorm";
import { EngineerEntity } from "../entities/engineer.entity";
import { AuditRepository, type NewAuditEntry } from "./audit.repository";
import { isUniqueViolation } from "./sql";

export interface NewEngineer {
  name: string;
  role: string;
  tokenHash: string;
  createdAt: Date;
}

@Injectable()
export class EngineerRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditRepository,
  ) {}

  findByTokenHash(tokenHash: string): Promise<EngineerEntity | null> {
    return this.dataSource.getRepository(EngineerEntity).findOneBy({ tokenHash });
  }

  findByName(name: string): Promise<EngineerEntity | null> {
    return this.dataSource.getRepository(EngineerEntity).findOneBy({ name });
  }

  count(): Promise<number> {
    return this.dataSource.getRepository(EngineerEntity).count();
  }

  /** Inserts the engineer with its audit row; false when the name is taken. */
  async insert(engineer: NewEngineer, audit: NewAuditEntry): Promise<boolean> {
    try {
      await this.dataSource.transaction(async (manager) => {
        await manager.insert(EngineerEntity, { id: randomUUID(), ...engineer });
        await this.audit.append(manager, audit);
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /**
   * Creates the first engineer only while there is none. Replicas starting
   * together race here: the table lock makes exactly one of them insert.
   */
  async insertIfNone(engineer: NewEngineer, audit: NewAuditEntry): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`LOCK TABLE "engineers" IN SHARE ROW EXCLUSIVE MODE`);
      const existing = await manager.count(EngineerEntity);
      if (existing > 0) return false;
      await manager.insert(EngineerEntity, { id: randomUUID(), ...engineer });
      await this.audit.append(manager, audit);
      return true;
    });
  }

  /** Deletes the engineer (its token stops working at once); false when there was none. */
  async deleteByName(name: string, audit: NewAuditEntry): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const result = await manager.delete(EngineerEntity, { name });
      if (!result.affected) return false;
      await this.audit.append(manager, audit);
      return true;
    });
  }
}
