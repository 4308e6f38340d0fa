// Customers and groups: creating them, delegating roles, and the access that
// follows. Every change is audited with its actor and address, in the
// transaction that makes it; a change that takes access away ends, in that same
// transaction, every live tunnel whose approver lost access (`access-removed`),
// so the device tears it down within seconds and the session is cut.
import { Inject, Injectable } from "@nestjs/common";
import {
  EXPIRING_ROLES,
  StoppedBy,
  type AddGroupCustomerRequest,
  type AddMemberRequest,
  type CreateCustomerRequest,
  type CreateGroupRequest,
  type CustomerList,
  type CustomerSecretResponse,
  type GroupList,
  type GroupRole,
  type GroupView,
} from "@support-tunnel/common";
import { AccessRepository, type CutTunnel } from "../repositories/access.repository";
import { CustomerRepository } from "../repositories/customer.repository";
import {
  GroupRepository,
  type GroupChange,
  type GroupRecord,
} from "../repositories/group.repository";
import { customerChangeRefusal, memberChangeRefusal, type GroupActor } from "./access-rules";
import type { Engineer } from "./auth.service";
import { CLOCK, type Clock } from "./clock";
import { ApiException, badRequest, forbidden, notFound } from "./errors";
import { hashToken, newCustomerSecret } from "./tokens";
import type { Caller } from "./tunnel.service";

export class NameTakenError extends ApiException {
  constructor(what: string, name: string) {
    super(409, `${what} ${name} already exists`, "name");
  }
}

/** What the tunnel routes may show an engineer: everything, or the tunnels of these customers. */
export type Visibility = { all: true } | { all: false; customerIds: string[] };

function toGroupView(g: GroupRecord): GroupView {
  return {
    name: g.name,
    createdAt: g.createdAt.toISOString(),
    members: g.members.map((m) => ({
      engineer: m.engineer,
      role: m.role as GroupRole,
      expiresAt: m.expiresAt ? m.expiresAt.toISOString() : null,
      addedAt: m.addedAt.toISOString(),
    })),
    customers: g.customers,
  };
}

@Injectable()
export class AccessService {
  constructor(
    private readonly customers: CustomerRepository,
    private readonly groups: GroupRepository,
    private readonly access: AccessRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  // ---- who sees what -------------------------------------------------------

  async visibility(engineer: Engineer): Promise<Visibility> {
    if (engineer.role === "admin") return { all: true };
    return {
      all: false,
      customerIds: await this.access.visibleCustomerIds(engineer.name, this.clock.now()),
    };
  }

  // ---- customers -----------------------------------------------------------

  async createCustomer(
    body: CreateCustomerRequest,
    engineer: Engineer,
    caller: Caller,
  ): Promise<CustomerSecretResponse> {
    const secret = newCustomerSecret();
    const now = this.clock.now();
    const created = await this.customers.insert(
      { name: body.name, enrollmentSecretHash: hashToken(secret), createdAt: now },
      this.auditEntry(engineer, caller, now, "customer.create", body.name),
    );
    if (!created) throw new NameTakenError("customer", body.name);
    return { name: body.name, enrollmentSecret: secret };
  }

  async rotateSecret(
    name: string,
    engineer: Engineer,
    caller: Caller,
  ): Promise<CustomerSecretResponse> {
    const secret = newCustomerSecret();
    const now = this.clock.now();
    const done = await this.customers.replaceSecret(
      name,
      hashToken(secret),
      this.auditEntry(engineer, caller, now, "customer.rotate-secret", name),
    );
    if (!done) throw notFound(`customer ${name} not found`, "name");
    return { name, enrollmentSecret: secret };
  }

  /** Admins see every customer; others those their groups serve, with those groups. */
  async listCustomers(engineer: Engineer): Promise<CustomerList> {
    const visible = await this.visibility(engineer);
    const found = await this.customers.list(visible.all ? undefined : visible.customerIds);
    const mine = visible.all
      ? null
      : new Set(await this.groups.namesOf(engineer.name, this.clock.now()));
    const customers = [];
    for (const c of found) {
      const serving = await this.groups.servingCustomer(c.id);
      customers.push({
        name: c.name,
        createdAt: c.createdAt.toISOString(),
        groups: mine ? serving.filter((g) => mine.has(g)) : serving,
      });
    }
    return { customers };
  }

  // ---- groups --------------------------------------------------------------

  async createGroup(
    body: CreateGroupRequest,
    engineer: Engineer,
    caller: Caller,
  ): Promise<GroupView> {
    const now = this.clock.now();
    const created = await this.groups.insert(
      body.name,
      now,
      this.auditEntry(engineer, caller, now, "group.create", body.name),
    );
    if (!created) throw new NameTakenError("group", body.name);
    return this.groupView(body.name);
  }

  /** Admins see every group; others the groups they are in. */
  async listGroups(engineer: Engineer): Promise<GroupList> {
    const names =
      engineer.role === "admin"
        ? undefined
        : await this.groups.namesOf(engineer.name, this.clock.now());
    return { groups: (await this.groups.records(names)).map(toGroupView) };
  }

  /** 404 for a group the engineer is not in (unless admin), as for one that does not exist. */
  async showGroup(name: string, engineer: Engineer): Promise<GroupView> {
    if (engineer.role !== "admin") {
      const mine = await this.groups.namesOf(engineer.name, this.clock.now());
      if (!mine.includes(name)) throw notFound(`group ${name} not found`, "name");
    }
    return this.groupView(name);
  }

  async addMember(
    groupName: string,
    body: AddMemberRequest,
    engineer: Engineer,
    caller: Caller,
  ): Promise<GroupView> {
    const now = this.clock.now();
    const expiresAt = body.expiresAt === undefined ? null : new Date(body.expiresAt);
    if (expiresAt && !EXPIRING_ROLES.includes(body.role)) {
      throw badRequest(
        `only a member's or a guest's access expires, not a ${body.role}'s`,
        "expiresAt",
      );
    }
    if (expiresAt && expiresAt <= now) throw badRequest("must be in the future", "expiresAt");
    await this.inGroup(groupName, async (change) => {
      const actor = await this.actorIn(change, engineer, now);
      this.refuseIf(memberChangeRefusal(actor, groupName, body.role));
      const target = await change.findEngineer(body.engineer);
      if (!target) throw notFound(`engineer ${body.engineer} not found`, "engineer");
      const before = await change.membershipOf(body.engineer);
      if (before) {
        // Changing someone's role takes the right to manage the role they had too.
        this.refuseIf(memberChangeRefusal(actor, groupName, before.role as GroupRole));
      }
      await change.putMember(target.id, body.role, expiresAt, now);
      await change.appendAudit(
        this.auditEntry(
          engineer,
          caller,
          now,
          "group.member.add",
          `${body.engineer} as ${body.role} of ${groupName}` +
            (expiresAt ? ` until ${expiresAt.toISOString()}` : "") +
            (before ? ` (was ${before.role})` : ""),
        ),
      );
      // A member made a gatekeeper keeps seeing but no longer uses: what they approved ends.
      return this.cut(change, now, engineer, caller, { approvedBy: body.engineer });
    });
    return this.groupView(groupName);
  }

  async removeMember(
    groupName: string,
    engineerName: string,
    engineer: Engineer,
    caller: Caller,
  ): Promise<GroupView> {
    const now = this.clock.now();
    await this.inGroup(groupName, async (change) => {
      const actor = await this.actorIn(change, engineer, now);
      const before = await change.membershipOf(engineerName);
      if (!before) throw notFound(`${engineerName} is not in ${groupName}`, "engineer");
      this.refuseIf(memberChangeRefusal(actor, groupName, before.role as GroupRole));
      await change.deleteMember(before.engineerId);
      await change.appendAudit(
        this.auditEntry(
          engineer,
          caller,
          now,
          "group.member.remove",
          `${engineerName} (${before.role}) from ${groupName}`,
        ),
      );
      return this.cut(change, now, engineer, caller, { approvedBy: engineerName });
    });
    return this.groupView(groupName);
  }

  async addCustomer(
    groupName: string,
    body: AddGroupCustomerRequest,
    engineer: Engineer,
    caller: Caller,
  ): Promise<GroupView> {
    const now = this.clock.now();
    await this.inGroup(groupName, async (change) => {
      this.refuseIf(customerChangeRefusal(await this.actorIn(change, engineer, now), groupName));
      const customer = await change.findCustomer(body.customer);
      if (!customer) throw notFound(`customer ${body.customer} not found`, "customer");
      if (!(await change.addCustomer(customer.id))) return;
      await change.appendAudit(
        this.auditEntry(
          engineer,
          caller,
          now,
          "group.customer.add",
          `${body.customer} to ${groupName}`,
        ),
      );
    });
    return this.groupView(groupName);
  }

  async removeCustomer(
    groupName: string,
    customerName: string,
    engineer: Engineer,
    caller: Caller,
  ): Promise<GroupView> {
    const now = this.clock.now();
    await this.inGroup(groupName, async (change) => {
      this.refuseIf(customerChangeRefusal(await this.actorIn(change, engineer, now), groupName));
      const customer = await change.findCustomer(customerName);
      if (!customer || !(await change.removeCustomer(customer.id))) {
        throw notFound(`${groupName} does not serve ${customerName}`, "customer");
      }
      await change.appendAudit(
        this.auditEntry(
          engineer,
          caller,
          now,
          "group.customer.remove",
          `${customerName} from ${groupName}`,
        ),
      );
      return this.cut(change, now, engineer, caller, { customerId: customer.id });
    });
    return this.groupView(groupName);
  }

  /**
   * The sweep's part: memberships whose time ran out are removed, and what
   * they granted ends, without anyone asking. Returns the tunnels it ended.
   */
  async expireMemberships(): Promise<string[]> {
    const now = this.clock.now();
    const cut = await this.groups.expire(now, async (manager, expired) => {
      const ended: CutTunnel[] = [];
      for (const m of expired) {
        await this.accessAudit(manager, {
          tunnelId: null,
          actor: "system",
          action: "group.member.expire",
          detail: `${m.engineer} (${m.role}) from ${m.group}`,
          clientAddress: null,
          at: now,
        });
      }
      for (const name of new Set(expired.map((m) => m.engineer))) {
        ended.push(
          ...(await this.access.cutLostAccess(
            manager,
            now,
            { approvedBy: name },
            StoppedBy.Expiry,
            (t) => ({
              tunnelId: t.id,
              actor: "system",
              action: "tunnel.stop",
              detail: `access-removed: ${t.approvedBy}'s access expired`,
              clientAddress: null,
              at: now,
            }),
          )),
        );
      }
      return ended;
    });
    return (cut ?? []).map((t) => t.id);
  }

  // ---- helpers -------------------------------------------------------------

  private async groupView(name: string): Promise<GroupView> {
    const [found] = await this.groups.records([name]);
    if (!found) throw notFound(`group ${name} not found`, "name");
    return toGroupView(found);
  }

  private async inGroup<T>(name: string, fn: (change: GroupChange) => Promise<T>): Promise<T> {
    const done = await this.groups.change(name, fn);
    if (!done) throw notFound(`group ${name} not found`, "name");
    return done.value;
  }

  private async actorIn(change: GroupChange, engineer: Engineer, now: Date): Promise<GroupActor> {
    const own = await change.membershipOf(engineer.name);
    const live = own && (own.expiresAt === null || own.expiresAt > now);
    return {
      name: engineer.name,
      role: engineer.role,
      groupRole: live ? (own.role as GroupRole) : null,
    };
  }

  private refuseIf(refusal: string | null): void {
    if (refusal) throw forbidden(refusal);
  }

  private cut(
    change: GroupChange,
    now: Date,
    engineer: Engineer,
    caller: Caller,
    scope: { approvedBy?: string; customerId?: string },
  ): Promise<CutTunnel[]> {
    return this.access.cutLostAccess(change.manager, now, scope, StoppedBy.Engineer, (t) =>
      this.auditEntry(
        engineer,
        caller,
        now,
        "tunnel.stop",
        `access-removed: ${t.approvedBy} no longer has access`,
        t.id,
      ),
    );
  }

  private accessAudit(
    manager: Parameters<AccessRepository["cutLostAccess"]>[0],
    entry: Parameters<GroupChange["appendAudit"]>[0],
  ): Promise<void> {
    return this.access.appendAudit(manager, entry);
  }

  private auditEntry(
    engineer: Engineer,
    caller: Caller,
    at: Date,
    action: string,
    detail: string,
    tunnelId: string | null = null,
  ) {
    return {
      tunnelId,
      actor: `engineer:${engineer.name}`,
      action,
      detail,
      clientAddress: caller.clientAddress,
      clientGone: caller.signal,
      at,
    };
  }
}
