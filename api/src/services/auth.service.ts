// Who is calling: a device (token scoped to one tunnel, valid until the tunnel
// expires) or an engineer (personal token with a role). Tokens are looked up by
// their hash; the prefix decides which kind is expected, so a device token can
// never pass on an engineer route or the other way round.
import { Inject, Injectable } from "@nestjs/common";
import {
  DEVICE_TOKEN_PREFIX,
  ENGINEER_TOKEN_PREFIX,
  ROLE_RANK,
  deviceTokenSchema,
  engineerTokenSchema,
  type EngineerRole,
} from "@support-tunnel/common";
import type { EngineerEntity } from "../entities/engineer.entity";
import type { TunnelEntity } from "../entities/tunnel.entity";
import { EngineerRepository } from "../repositories/engineer.repository";
import { TunnelRepository } from "../repositories/tunnel.repository";
import { CLOCK, type Clock } from "./clock";
import { forbidden, unauthorized } from "./errors";
import { LastRequests } from "./last-requests.service";
import { hashToken } from "./tokens";

export interface Engineer {
  name: string;
  role: EngineerRole;
}

function bearer(header: string | undefined): string {
  if (!header) throw unauthorized("missing bearer token (Authorization: Bearer <token>)");
  const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
  if (!match?.[1]) throw unauthorized("authorization header must be `Bearer <token>`");
  return match[1];
}

@Injectable()
export class AuthService {
  constructor(
    private readonly engineers: EngineerRepository,
    private readonly tunnels: TunnelRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly lastRequests: LastRequests,
  ) {}

  async engineer(authorization: string | undefined, role: EngineerRole): Promise<Engineer> {
    const token = bearer(authorization);
    if (token.startsWith(DEVICE_TOKEN_PREFIX)) {
      throw unauthorized("a device token can't be used on an engineer route");
    }
    if (!engineerTokenSchema.safeParse(token).success) throw unauthorized("invalid engineer token");
    const found: EngineerEntity | null = await this.engineers.findByTokenHash(hashToken(token));
    if (!found) throw unauthorized("invalid or revoked engineer token");
    const engineer = { name: found.name, role: found.role as EngineerRole };
    if (ROLE_RANK[engineer.role] < ROLE_RANK[role]) {
      throw forbidden(`requires the ${role} role (${engineer.name} is ${engineer.role})`);
    }
    return engineer;
  }

  async device(authorization: string | undefined): Promise<TunnelEntity> {
    const token = bearer(authorization);
    if (token.startsWith(ENGINEER_TOKEN_PREFIX)) {
      throw unauthorized("an engineer token can't be used on a device route");
    }
    if (!deviceTokenSchema.safeParse(token).success) throw unauthorized("invalid device token");
    const tunnel = await this.tunnels.findForDevice(hashToken(token));
    if (!tunnel) throw unauthorized("invalid device token");
    // The token lives exactly as long as the tunnel's grant.
    const now = this.clock.now();
    if (tunnel.expiresAt.getTime() <= now.getTime()) {
      throw unauthorized("device token expired");
    }
    // The fleet view's "last request": the token proves which device it is.
    // Kept in memory and written in batches (see LastRequests), not per poll.
    if (tunnel.deviceId) this.lastRequests.record(tunnel.deviceId, now);
    return tunnel;
  }
}
