// Engineers and their hashed tokens.
import { randomUUID } from "node:crypto";
import { Injectable } from "@nestjs/common";
import type { EngineerRole } from "@support-tunnel/common";
import { InjectRepository } from "@nestjs/typeorm";
import { QueryFailedError, type EntityManager, type Repository } from "typeorm";
import { EngineerRevocationEntity } from "../entities/engineer-revocation.entity";
import { EngineerEntity } from "../entities/engineer.entity";
import { AuditRepository, type NewAuditEntry } from "./audit.repository";

export interface NewEngineer {
  name: string;
  role: string;
  tokenHash: string;
  createdAt: Date;
  /** As the audit log names actors: `engineer:<name>`, `cli` or `system`. */
  createdBy: string;
}

const ADMIN: EngineerRole = "admin";

/** PostgreSQL's unique_violation (a name already taken). */
function isUniqueViolation(err: unknown): boolean {
  return err instanceof QueryFailedError && (err.driverError as { code?: string }).code === "23505";
}

@Injectable()
export class EngineerRepository {
  constructor(
    @InjectRepository(EngineerEntity) private readonly engineers: Repository<EngineerEntity>,
    private readonly audit: AuditRepository,
  ) {}

  findByTokenHash(tokenHash: string): Promise<EngineerEntity | null> {
    return this.engineers.findOneBy({ tokenHash });
  }

  findByName(name: string): Promise<EngineerEntity | null> {
    return this.engineers.findOneBy({ name });
  }

  count(): Promise<number> {
    return this.engineers.count();
  }

  /** Every engineer by name, and every revocation, newest first. */
  async listWithRevoked(): Promise<{
    engineers: EngineerEntity[];
    revoked: EngineerRevocationEntity[];
  }> {
    return {
      engineers: await this.engineers.find({ order: { name: "ASC" } }),
      revoked: await this.engineers.manager.find(EngineerRevocationEntity, {
        order: { revokedAt: "DESC", name: "ASC" },
      }),
    };
  }

  /** Inserts the engineer with its audit row; false when the name is taken. */
  async insert(engineer: NewEngineer, audit: NewAuditEntry): Promise<boolean> {
    try {
      await this.engineers.manager.transaction(async (manager) => {
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
   * together race here: the table lock makes exactly one of them insert
   * (TypeORM locks rows, not tables: the one raw statement here).
   */
  async insertIfNone(engineer: NewEngineer, audit: NewAuditEntry): Promise<boolean> {
    return this.engineers.manager.transaction(async (manager) => {
      await manager.query(`LOCK TABLE "engineers" IN SHARE ROW EXCLUSIVE MODE`);
      if ((await manager.count(EngineerEntity)) > 0) return false;
      await manager.insert(EngineerEntity, { id: randomUUID(), ...engineer });
      await this.audit.append(manager, audit);
      return true;
    });
  }

  /**
   * Deletes the engineer (its token stops working at once), unless it is the
   * last admin: the admins' rows are locked first, in one order, so two admins
   * revoking each other at once take turns and the second sees the first's
   * change (its locked row gone) and is refused.
   */
  async deleteByName(
    name: string,
    audit: NewAuditEntry,
    afterDelete?: (manager: EntityManager) => Promise<void>,
  ): Promise<"revoked" | "not-found" | "last-admin"> {
    return this.engineers.manager.transaction(async (manager) => {
      const admins = await manager
        .createQueryBuilder(EngineerEntity, "e")
        .where({ role: ADMIN })
        .orderBy("e.id")
        .setLock("pessimistic_write")
        .getMany();
      const target = await manager.findOneBy(EngineerEntity, { name });
      if (!target) return "not-found";
      if (target.role === ADMIN && admins.filter((a) => a.name !== name).length === 0) {
        return "last-admin";
      }
      await manager.delete(EngineerEntity, { id: target.id });
      // Who they were stays for admins' lists; what let them in (the token) does not.
      await manager.insert(EngineerRevocationEntity, {
        id: randomUUID(),
        name: target.name,
        role: target.role,
        createdAt: target.createdAt,
        createdBy: target.createdBy,
        revokedAt: audit.at,
        revokedBy: audit.actor,
      });
      await this.audit.append(manager, audit);
      await afterDelete?.(manager);
      return "revoked";
    });
  }
}
