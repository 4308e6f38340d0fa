// Wire views of a tunnel: what engineers see, and the narrower view a device
// gets of its own tunnel. Shapes are the schemas in common.
import {
  stateFromRank,
  type ApprovalRefusalKind,
  type DeviceTunnelView,
  type ProviderName,
  type StoppedBy,
  type TunnelId,
  type TunnelSessionView,
  type TunnelView,
  type WgPublicKey,
} from "@support-tunnel/common";
import type { TunnelSessionEntity } from "../entities/tunnel-session.entity";
import type { TunnelEntity } from "../entities/tunnel.entity";

/** The customer's choices, as both views show them. */
function choicesView(
  t: TunnelEntity,
): Pick<TunnelView, "ticket" | "notBefore" | "allowedEngineers" | "allowedPorts"> {
  return {
    ticket: t.ticket,
    notBefore: t.notBefore ? t.notBefore.toISOString() : null,
    allowedEngineers: t.allowedEngineers,
    allowedPorts: t.allowedPorts,
  };
}

function toSessionView(s: TunnelSessionEntity): TunnelSessionView {
  return {
    session: s.sessionId,
    engineer: s.engineer,
    startedAt: s.startedAt.toISOString(),
    endedAt: s.endedAt ? s.endedAt.toISOString() : null,
    exitCode: s.exitCode,
  };
}

/** `customer`: the name of the tunnel's customer (null: none). */
export function toTunnelView(
  t: TunnelEntity,
  customer: string | null,
  sessions: readonly TunnelSessionEntity[] = [],
): TunnelView {
  return {
    tunnelId: t.id as TunnelId,
    state: stateFromRank(t.state),
    network: t.network,
    hostname: t.hostname,
    description: t.description,
    deviceWgPublicKey: t.deviceWgPublicKey as WgPublicKey,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
    expiresAt: t.expiresAt.toISOString(),
    server:
      t.serverInstanceId &&
      t.serverProvider &&
      t.serverPublicIp &&
      t.serverWgPort &&
      t.serverWgPublicKey
        ? {
            instanceId: t.serverInstanceId,
            provider: t.serverProvider as ProviderName,
            publicIp: t.serverPublicIp,
            wgPort: t.serverWgPort,
            wgPublicKey: t.serverWgPublicKey as WgPublicKey,
          }
        : null,
    supportUser: t.supportUser,
    approvedBy: t.approvedBy,
    stoppedBy: t.stoppedBy as StoppedBy | null,
    stopReason: t.stopReason,
    endedAt: t.endedAt ? t.endedAt.toISOString() : null,
    ...choicesView(t),
    customer,
    sessions: sessions.map(toSessionView),
    refusal:
      t.refusalKind && t.refusedAt
        ? { kind: t.refusalKind as ApprovalRefusalKind, at: t.refusedAt.toISOString() }
        : null,
  };
}

export function toDeviceTunnelView(t: TunnelEntity): DeviceTunnelView {
  return {
    tunnelId: t.id as TunnelId,
    state: stateFromRank(t.state),
    network: t.network,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt.toISOString(),
    server:
      t.serverWgPublicKey && t.serverPublicIp && t.serverWgPort && t.approval
        ? {
            wgPublicKey: t.serverWgPublicKey as WgPublicKey,
            publicIp: t.serverPublicIp,
            wgPort: t.serverWgPort,
            approval: t.approval,
          }
        : null,
    stoppedBy: t.stoppedBy as StoppedBy | null,
    stopReason: t.stopReason,
    ...choicesView(t),
  };
}
