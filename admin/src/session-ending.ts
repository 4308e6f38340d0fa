// What an engineer is told about time and endings around a session on the device:
// how long the tunnel has left (connect's banner, a warning before it runs out)
// and, when ssh ends because the tunnel did, why, in words.
import {
  humanDuration,
  isTerminal,
  printable,
  relativeTime,
  StoppedBy,
  type AuditEntry,
  type SupportApiClient,
  type TunnelId,
  type TunnelView,
} from "@support-tunnel/common";

/** Connect's banner: where the shell is and how long the tunnel has left. */
export function sessionBanner(tunnel: TunnelView, now: number): string {
  const left = Date.parse(tunnel.expiresAt) - now;
  return `root shell on ${printable(tunnel.hostname ?? "the device")} as ${printable(tunnel.supportUser ?? "?")}; the tunnel ends ${relativeTime(tunnel.expiresAt, now)} (${tunnel.expiresAt})${left < 10 * 60_000 ? ": finish up" : ""}`;
}

/** Minutes before expiry at which a session is warned. */
export const EXPIRY_WARNINGS_MIN = [5, 1];

/**
 * Writes a warning at 5 and 1 minutes before the tunnel expires while a session
 * runs; returns the function that cancels the timers. `\r\n` because ssh holds the
 * terminal in raw mode.
 */
export function warnBeforeExpiry(
  expiresAt: string,
  write: (text: string) => void,
  now: number = Date.now(),
): () => void {
  const timers = EXPIRY_WARNINGS_MIN.map((minutes) => {
    const at = Date.parse(expiresAt) - minutes * 60_000;
    if (at <= now) return null;
    const timer = setTimeout(
      () =>
        write(
          `\r\n[support] the tunnel expires in ${humanDuration(minutes * 60_000)} (${expiresAt}); the session will be cut then\r\n`,
        ),
      Math.min(at - now, 2 ** 31 - 1),
    );
    timer.unref();
    return timer;
  });
  return () => timers.forEach((t) => t && clearTimeout(t));
}

/**
 * Why a tunnel ended, as a person says it: "the customer ended the tunnel", "the
 * tunnel expired", "stopped by bob". The engineer's name comes from the audit trail.
 */
export function endingReason(tunnel: TunnelView, audit: readonly AuditEntry[] = []): string {
  const why = tunnel.stopReason ? ` (${printable(tunnel.stopReason)})` : "";
  switch (tunnel.stoppedBy) {
    case StoppedBy.Device:
      return `the customer ended the tunnel${why}`;
    case StoppedBy.Expiry:
      return `the tunnel expired at ${tunnel.expiresAt}`;
    case StoppedBy.Engineer: {
      const stop = [...audit].reverse().find((e) => e.action === "tunnel.stop");
      const name = stop?.actor.replace(/^engineer:/, "");
      return `stopped by ${name ? printable(name) : "an engineer"}${why}`;
    }
    default:
      return `the tunnel is ${tunnel.state}`;
  }
}

/**
 * After ssh ended with a failure: when the tunnel is over, why (else null, and
 * ssh's own message stands). Never throws: the answer only adds to a message.
 */
export async function whyTunnelEnded(
  api: Pick<SupportApiClient, "getTunnel" | "getAudit">,
  tunnelId: TunnelId,
): Promise<string | null> {
  try {
    const tunnel = await api.getTunnel(tunnelId);
    if (!isTerminal(tunnel.state)) return null;
    const audit =
      tunnel.stoppedBy === StoppedBy.Engineer
        ? (await api.getAudit(tunnelId).catch(() => ({ entries: [] }))).entries
        : [];
    return endingReason(tunnel, audit);
  } catch {
    return null;
  }
}
