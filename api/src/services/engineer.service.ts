// Engineers: who they are, creating them (the token is shown once and only its
// hash kept), revoking them, and the bootstrap admin of an empty installation.
import { Inject, Injectable } from "@nestjs/common";
import { StoppedBy } from "@support-tunnel/common";
import type {
  CreateEngineerRequest,
  CreateEngineerResponse,
  EngineerList,
  EngineerRole,
  EngineerToken,
  Whoami,
} from "@support-tunnel/common";
import { AccessRepository } from "../repositories/access.repository";
import { EngineerRepository } from "../repositories/engineer.repository";
import type { Engineer } from "./auth.service";
import { CLOCK, type Clock } from "./clock";
import { ApiException, notFound } from "./errors";
import { hashToken, newEngineerToken } from "./tokens";

export interface Actor {
  /** As recorded in the audit log, e.g. `engineer:alice` or `cli`. */
  actor: string;
  clientAddress: string | null;
  /** The request's signal: the change is rolled back if the client has gone before it commits. */
  signal?: AbortSignal;
}

export class EngineerExistsError extends ApiException {
  constructor(name: string) {
    super(409, `engineer ${name} already exists`);
  }
}

/** Without an admin no one could manage engineers again but from the database. */
export class LastAdminError extends ApiException {
  constructor(name: string) {
    super(
      409,
      `refusing to remove the last admin (${name}): make another engineer admin first`,
      "name",
    );
  }
}

@Injectable()
export class EngineerService {
  constructor(
    private readonly engineers: EngineerRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly access: AccessRepository,
  ) {}

  whoami(engineer: Engineer): Whoami {
    return { name: engineer.name, role: engineer.role };
  }

  /**
   * Every engineer, those whose token works by name and then the revoked ones,
   * most recently revoked first; never a token or its hash.
   */
  async list(): Promise<EngineerList> {
    const { engineers, revoked } = await this.engineers.listWithRevoked();
    return {
      engineers: [
        ...engineers.map((e) => ({
          name: e.name,
          role: e.role as EngineerRole,
          createdAt: e.createdAt.toISOString(),
          createdBy: e.createdBy,
          revokedAt: null,
          revokedBy: null,
        })),
        ...revoked.map((r) => ({
          name: r.name,
          role: r.role as EngineerRole,
          createdAt: r.createdAt.toISOString(),
          createdBy: r.createdBy,
          revokedAt: r.revokedAt.toISOString(),
          revokedBy: r.revokedBy,
        })),
      ],
    };
  }

  async create(body: CreateEngineerRequest, by: Actor): Promise<CreateEngineerResponse> {
    const token = newEngineerToken();
    const now = this.clock.now();
    const created = await this.engineers.insert(
      {
        name: body.name,
        role: body.role,
        tokenHash: hashToken(token),
        createdAt: now,
        createdBy: by.actor,
      },
      {
        tunnelId: null,
        actor: by.actor,
        action: "engineer.create",
        detail: `${body.name} as ${body.role}`,
        clientAddress: by.clientAddress,
        clientGone: by.signal,
        at: now,
      },
    );
    if (!created) throw new EngineerExistsError(body.name);
    return { name: body.name, role: body.role, token };
  }

  /**
   * Deletes the engineer (their memberships go with them) and, in the same
   * transaction, ends every live tunnel they approved: somebody leaves, and all
   * their access is gone at once.
   */
  async revoke(name: string, by: Actor): Promise<void> {
    const now = this.clock.now();
    const removed = await this.engineers.deleteByName(
      name,
      {
        tunnelId: null,
        actor: by.actor,
        action: "engineer.revoke",
        detail: name,
        clientAddress: by.clientAddress,
        clientGone: by.signal,
        at: now,
      },
      async (manager) => {
        // Its notification wakes the ended tunnels' long-polls once this commits.
        await this.access.cutLostAccess(
          manager,
          now,
          { approvedBy: name },
          StoppedBy.Engineer,
          (t) => ({
            tunnelId: t.id,
            actor: by.actor,
            action: "tunnel.stop",
            detail: `access-removed: engineer ${t.approvedBy} revoked`,
            clientAddress: by.clientAddress,
            clientGone: by.signal,
            at: now,
          }),
        );
      },
    );
    if (removed === "not-found") throw notFound(`engineer ${name} not found`, "name");
    if (removed === "last-admin") throw new LastAdminError(name);
  }

  /** True on a fresh installation: no one can log in until a first admin is made. */
  async noneYet(): Promise<boolean> {
    return (await this.engineers.count()) === 0;
  }

  /** Creates `admin` with the given token when no engineer exists yet; true if it did. */
  async bootstrap(token: EngineerToken): Promise<boolean> {
    const now = this.clock.now();
    const role: EngineerRole = "admin";
    return this.engineers.insertIfNone(
      { name: "admin", role, tokenHash: hashToken(token), createdAt: now, createdBy: "system" },
      {
        tunnelId: null,
        actor: "system",
        action: "engineer.bootstrap",
        detail: "admin from SUPPORT_BOOTSTRAP_TOKEN",
        clientAddress: null,
        at: now,
      },
    );
  }
}
