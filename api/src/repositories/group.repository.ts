// Groups, their members (engineer, role, expiry) and the customers they serve.
// Every change runs in `change`: the group's row is locked first, so changes to
// one group take turns and each sees the memberships the one before left, and
// the caller's rights are read in the same transaction that uses them.
import { randomUUID } from "node:crypto";
import { Injectable } from "@nestjs/common";
import { InjectRepository } from "@nestjs/typeorm";
import {
  In,
  LessThanOrEqual,
  QueryFailedError,
  type EntityManager,
  type Repository,
} from "typeorm";
import { CustomerEntity } from "../entities/customer.entity";
import { EngineerEntity } from "../entities/engineer.entity";
import { GroupCustomerEntity } from "../entities/group-customer.entity";
import { GroupMemberEntity } from "../entities/group-member.entity";
import { GroupEntity } from "../entities/group.entity";
import { AuditRepository, type NewAuditEntry } from "./audit.repository";

export interface MemberRow {
  engineer: string;
  role: string;
  expiresAt: Date | null;
  addedAt: Date;
}

export interface GroupRecord {
  name: string;
  createdAt: Date;
  members: MemberRow[];
  customers: string[];
}

/** PostgreSQL's unique_violation (a name already taken). */
function isUniqueViolation(err: unknown): boolean {
  return err instanceof QueryFailedError && (err.driverError as { code?: string }).code === "23505";
}

/** One group, locked, inside one transaction. */
export class GroupChange {
  constructor(
    readonly manager: EntityManager,
    readonly group: GroupEntity,
    private readonly audit: AuditRepository,
  ) {}

  findEngineer(name: string): Promise<EngineerEntity | null> {
    return this.manager.findOneBy(EngineerEntity, { name });
  }

  findCustomer(name: string): Promise<CustomerEntity | null> {
    return this.manager.findOneBy(CustomerEntity, { name });
  }

  /** The engineer's membership of this group, expired or not. */
  async membershipOf(engineer: string): Promise<GroupMemberEntity | null> {
    const found = await this.findEngineer(engineer);
    if (!found) return null;
    return this.manager.findOneBy(GroupMemberEntity, {
      groupId: this.group.id,
      engineerId: found.id,
    });
  }

  async putMember(
    engineerId: string,
    role: string,
    expiresAt: Date | null,
    now: Date,
  ): Promise<void> {
    await this.manager.upsert(
      GroupMemberEntity,
      { groupId: this.group.id, engineerId, role, expiresAt, createdAt: now },
      ["groupId", "engineerId"],
    );
  }

  async deleteMember(engineerId: string): Promise<void> {
    await this.manager.delete(GroupMemberEntity, { groupId: this.group.id, engineerId });
  }

  /** False when the group already served the customer (the group's lock makes the check hold). */
  async addCustomer(customerId: string): Promise<boolean> {
    const link = { groupId: this.group.id, customerId };
    if (await this.manager.existsBy(GroupCustomerEntity, link)) return false;
    await this.manager.insert(GroupCustomerEntity, link);
    return true;
  }

  /** False when the group did not serve the customer. */
  async removeCustomer(customerId: string): Promise<boolean> {
    const result = await this.manager.delete(GroupCustomerEntity, {
      groupId: this.group.id,
      customerId,
    });
    return (result.affected ?? 0) > 0;
  }

  appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.audit.append(this.manager, entry);
  }
}

@Injectable()
export class GroupRepository {
  constructor(
    @InjectRepository(GroupEntity) private readonly groups: Repository<GroupEntity>,
    private readonly audit: AuditRepository,
  ) {}

  findByName(name: string): Promise<GroupEntity | null> {
    return this.groups.findOneBy({ name });
  }

  /** Inserts the group with its audit row; false when the name is taken. */
  async insert(name: string, now: Date, audit: NewAuditEntry): Promise<boolean> {
    try {
      await this.groups.manager.transaction(async (manager) => {
        await manager.insert(GroupEntity, { id: randomUUID(), name, createdAt: now });
        await this.audit.append(manager, audit);
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /**
   * Runs `fn` in a transaction holding the group's row lock; null when there is
   * no such group. What `fn` throws rolls everything back.
   */
  change<T>(name: string, fn: (change: GroupChange) => Promise<T>): Promise<{ value: T } | null> {
    return this.groups.manager.transaction(async (manager) => {
      const group = await manager
        .createQueryBuilder(GroupEntity, "g")
        .where({ name })
        .setLock("pessimistic_write")
        .getOne();
      if (!group) return null;
      return { value: await fn(new GroupChange(manager, group, this.audit)) };
    });
  }

  /** The groups with these names (all when undefined), with members and customers, by name. */
  async records(names?: string[]): Promise<GroupRecord[]> {
    const groups = await this.groups.find({
      where: names === undefined ? {} : { name: In(names) },
      order: { name: "ASC" },
    });
    if (groups.length === 0) return [];
    const ids = groups.map((g) => g.id);
    const members: {
      group_id: string;
      engineer: string;
      role: string;
      expires_at: Date | null;
      created_at: Date;
    }[] = await this.groups.manager
      .createQueryBuilder(GroupMemberEntity, "m")
      .innerJoin(EngineerEntity, "e", "e.id = m.engineer_id")
      .select("m.group_id", "group_id")
      .addSelect("e.name", "engineer")
      .addSelect("m.role", "role")
      .addSelect("m.expires_at", "expires_at")
      .addSelect("m.created_at", "created_at")
      .where({ groupId: In(ids) })
      .orderBy("e.name", "ASC")
      .getRawMany();
    const customers: { group_id: string; customer: string }[] = await this.groups.manager
      .createQueryBuilder(GroupCustomerEntity, "gc")
      .innerJoin(CustomerEntity, "c", "c.id = gc.customer_id")
      .select("gc.group_id", "group_id")
      .addSelect("c.name", "customer")
      .where({ groupId: In(ids) })
      .orderBy("c.name", "ASC")
      .getRawMany();
    return groups.map((g) => ({
      name: g.name,
      createdAt: g.createdAt,
      members: members
        .filter((m) => m.group_id === g.id)
        .map((m) => ({
          engineer: m.engineer,
          role: m.role,
          expiresAt: m.expires_at === null ? null : new Date(m.expires_at),
          addedAt: new Date(m.created_at),
        })),
      customers: customers.filter((c) => c.group_id === g.id).map((c) => c.customer),
    }));
  }

  /** Names of the groups the engineer is in with a membership live at `now`. */
  async namesOf(engineer: string, now: Date): Promise<string[]> {
    const rows: { name: string }[] = await this.groups.manager
      .createQueryBuilder(GroupMemberEntity, "m")
      .innerJoin(EngineerEntity, "e", "e.id = m.engineer_id")
      .innerJoin(GroupEntity, "g", "g.id = m.group_id")
      .select("g.name", "name")
      .where("e.name = :engineer", { engineer })
      .andWhere("(m.expires_at IS NULL OR m.expires_at > :now)", { now })
      .orderBy("g.name", "ASC")
      .getRawMany();
    return rows.map((r) => r.name);
  }

  /** Names of the groups serving the customer. */
  async servingCustomer(customerId: string): Promise<string[]> {
    const rows: { name: string }[] = await this.groups.manager
      .createQueryBuilder(GroupCustomerEntity, "gc")
      .innerJoin(GroupEntity, "g", "g.id = gc.group_id")
      .select("g.name", "name")
      .where({ customerId })
      .orderBy("g.name", "ASC")
      .getRawMany();
    return rows.map((r) => r.name);
  }

  /**
   * Deletes memberships whose time has run out, in one transaction with `then`
   * (which ends what they granted). Safe with several replicas: SKIP LOCKED
   * keeps them off each other's rows, so each expiry is handled once.
   */
  expire<T>(
    now: Date,
    then: (
      manager: EntityManager,
      expired: { group: string; engineer: string; role: string }[],
    ) => Promise<T>,
  ): Promise<T | null> {
    return this.groups.manager.transaction(async (manager) => {
      const due = await manager
        .createQueryBuilder(GroupMemberEntity, "m")
        .where({ expiresAt: LessThanOrEqual(now) })
        .orderBy("m.expires_at", "ASC")
        .limit(500)
        .setLock("pessimistic_write")
        .setOnLocked("skip_locked")
        .getMany();
      if (due.length === 0) return null;
      const engineers = await manager.findBy(EngineerEntity, {
        id: In(due.map((m) => m.engineerId)),
      });
      const groups = await manager.findBy(GroupEntity, { id: In(due.map((m) => m.groupId)) });
      for (const m of due) {
        await manager.delete(GroupMemberEntity, { groupId: m.groupId, engineerId: m.engineerId });
      }
      return then(
        manager,
        due.map((m) => ({
          group: groups.find((g) => g.id === m.groupId)?.name ?? m.groupId,
          engineer: engineers.find((e) => e.id === m.engineerId)?.name ?? m.engineerId,
          role: m.role,
        })),
      );
    });
  }
}
