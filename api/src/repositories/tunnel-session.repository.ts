// Support's sessions on devices, as the devices report them. A report and the
// state change it may bring (running → connected) are one transaction under the
// tunnel's row lock, so an open and a close of one session racing each other,
// or two sessions at once, are applied one after the other.
import { Injectable } from "@nestjs/common";
import { InjectRepository } from "@nestjs/typeorm";
import { TunnelState, stateRank } from "@support-tunnel/common";
import { In, IsNull, type Repository } from "typeorm";
import { TUNNEL_CHANGED_CHANNEL, tunnelChangePayload } from "../database/tunnel-change-feed";
import { TunnelSessionEntity } from "../entities/tunnel-session.entity";
import { TunnelEntity } from "../entities/tunnel.entity";
import { AuditRepository, type NewAuditEntry } from "./audit.repository";

const RUNNING = stateRank(TunnelState.Running);
const CONNECTED = stateRank(TunnelState.Connected);

export interface SessionReport {
  sessionId: string;
  engineer: string | null;
  startedAt: Date;
  endedAt: Date | null;
  exitCode: number | null;
}

export interface SessionReportOutcome {
  /** False when the tunnel is gone. */
  found: boolean;
  /** The session was new, or ended now: something was recorded. */
  opened: boolean;
  closed: boolean;
  /** Refused: the tunnel has this many sessions already. */
  tooMany: boolean;
  /** running → connected happened with this report. */
  nowConnected: boolean;
}

@Injectable()
export class TunnelSessionRepository {
  constructor(
    @InjectRepository(TunnelSessionEntity)
    private readonly sessions: Repository<TunnelSessionEntity>,
    private readonly audit: AuditRepository,
  ) {}

  /** The sessions of these tunnels, oldest first, by tunnel id. */
  async forTunnels(ids: readonly string[]): Promise<Map<string, TunnelSessionEntity[]>> {
    const byTunnel = new Map<string, TunnelSessionEntity[]>();
    if (ids.length === 0) return byTunnel;
    const found = await this.sessions.find({
      where: { tunnelId: In([...ids]) },
      order: { startedAt: "ASC", sessionId: "ASC" },
    });
    for (const s of found) byTunnel.set(s.tunnelId, [...(byTunnel.get(s.tunnelId) ?? []), s]);
    return byTunnel;
  }

  /**
   * Records an opened or closed session: new ones are inserted, an open one is
   * closed, a closed one never changes. The first report of a running tunnel
   * makes it connected. `audit` gives the rows for what happened.
   */
  report(
    tunnelId: string,
    report: SessionReport,
    maxSessions: number,
    audit: (what: "opened" | "closed") => NewAuditEntry,
  ): Promise<SessionReportOutcome> {
    return this.sessions.manager.transaction(async (manager) => {
      const outcome = {
        found: false,
        opened: false,
        closed: false,
        tooMany: false,
        nowConnected: false,
      };
      const tunnel = await manager.findOne(TunnelEntity, {
        select: { id: true, state: true },
        where: { id: tunnelId },
        lock: { mode: "pessimistic_write" },
      });
      if (!tunnel) return outcome;
      outcome.found = true;
      const where = { tunnelId, sessionId: report.sessionId };
      const existing = await manager.findOneBy(TunnelSessionEntity, where);
      if (!existing) {
        if ((await manager.countBy(TunnelSessionEntity, { tunnelId })) >= maxSessions) {
          outcome.tooMany = true;
          return outcome;
        }
        await manager.insert(TunnelSessionEntity, { ...where, ...report });
        outcome.opened = true;
        outcome.closed = report.endedAt !== null;
      } else if (existing.endedAt === null && report.endedAt !== null) {
        await manager.update(
          TunnelSessionEntity,
          { ...where, endedAt: IsNull() },
          { endedAt: report.endedAt, exitCode: report.exitCode },
        );
        outcome.closed = true;
      }
      if (outcome.opened) await this.audit.append(manager, audit("opened"));
      if (outcome.closed) await this.audit.append(manager, audit("closed"));
      if (outcome.opened && tunnel.state === RUNNING) {
        await manager.update(
          TunnelEntity,
          { id: tunnelId, state: RUNNING },
          { state: CONNECTED, updatedAt: audit("opened").at },
        );
        // Announced in this transaction, like every state change (tunnel.repository.ts).
        await manager.query("SELECT pg_notify($1, $2)", [
          TUNNEL_CHANGED_CHANNEL,
          tunnelChangePayload(tunnelId, CONNECTED),
        ]);
        outcome.nowConnected = true;
      }
      return outcome;
    });
  }
}
