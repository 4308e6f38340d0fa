// Names, labels and limits of tunnel servers: cheap to import (no Pulumi).

/** Label every tunnel server carries; `list` and `gc` find servers by it. */
export const SERVER_LABEL = { key: "support-tunnel", value: "server" } as const;
export const TUNNEL_ID_LABEL = "tunnel-id";
/** Network tag shared by all tunnel servers (the `infra/` firewall rules target it). */
export const SERVER_TAG = "support-tunnel-server";
/** GCP refuses a max run duration under 30 seconds. */
export const MIN_RUN_SECONDS = 30;
export const DEBIAN_IMAGE = "debian-cloud/debian-12";

/** VM, firewall and tag names: RFC 1035, at most 63 characters; `st-` + UUID is 39. */
export function serverName(tunnelId: string): string {
  const id = tunnelId.toLowerCase();
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(`cannot name a server after tunnel ${tunnelId}`);
  return `st-${id}`;
}

export function stackNameFor(tunnelId: string): string {
  return `tunnel-${tunnelId.toLowerCase()}`;
}

/** Whole seconds from now until expiry, rounded up, never under GCP's minimum. */
export function maxRunSeconds(expiresAt: Date, now: Date): number {
  return Math.max(MIN_RUN_SECONDS, Math.ceil((expiresAt.getTime() - now.getTime()) / 1000));
}
