// Customers and the hashes of their enrollment secrets.
import { randomUUID } from "node:crypto";
import { Injectable } from "@nestjs/common";
import { InjectRepository } from "@nestjs/typeorm";
import { In, QueryFailedError, type Repository } from "typeorm";
import { CustomerEntity } from "../entities/customer.entity";
import { AuditRepository, type NewAuditEntry } from "./audit.repository";

/** PostgreSQL's unique_violation (a name already taken). */
function isUniqueViolation(err: unknown): boolean {
  return err instanceof QueryFailedError && (err.driverError as { code?: string }).code === "23505";
}

@Injectable()
export class CustomerRepository {
  constructor(
    @InjectRepository(CustomerEntity) private readonly customers: Repository<CustomerEntity>,
    private readonly audit: AuditRepository,
  ) {}

  findByName(name: string): Promise<CustomerEntity | null> {
    return this.customers.findOneBy({ name });
  }

  findBySecretHash(enrollmentSecretHash: string): Promise<CustomerEntity | null> {
    return this.customers.findOneBy({ enrollmentSecretHash });
  }

  /** All customers, or those with these ids; by name. */
  list(ids?: string[]): Promise<CustomerEntity[]> {
    return this.customers.find({
      where: ids === undefined ? {} : { id: In(ids) },
      order: { name: "ASC" },
    });
  }

  /** id → name of the given customers. */
  async namesById(ids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const found = await this.customers.find({
      select: { id: true, name: true },
      where: { id: In(unique) },
    });
    return new Map(found.map((c) => [c.id, c.name]));
  }

  /** Inserts the customer with its audit row; false when the name is taken. */
  async insert(customer: Omit<CustomerEntity, "id">, audit: NewAuditEntry): Promise<boolean> {
    try {
      await this.customers.manager.transaction(async (manager) => {
        await manager.insert(CustomerEntity, { id: randomUUID(), ...customer });
        await this.audit.append(manager, audit);
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** Replaces the secret's hash: the old secret stops working at once. False: no such customer. */
  async replaceSecret(name: string, secretHash: string, audit: NewAuditEntry): Promise<boolean> {
    return this.customers.manager.transaction(async (manager) => {
      const result = await manager.update(
        CustomerEntity,
        { name },
        { enrollmentSecretHash: secretHash },
      );
      if (!result.affected) return false;
      await this.audit.append(manager, audit);
      return true;
    });
  }
}
