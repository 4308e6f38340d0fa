// The local record of one tunnel: what the device must remember between
// commands, across agent restarts and reboots, and nothing more. It holds the
// private key and the PSK, so the store keeps it 0600 in a 0700 directory.
// Records are read and written through the hand checks here, not zod: the idle
// agent reads them, and zod would cost it ~12 MiB. record-schema.ts holds the zod
// schemas they keep to (and the type), and record.spec.ts runs both on one table
// so the two cannot drift.
import type { PresharedKey, WgPrivateKey, WgPublicKey } from "@support-tunnel/common/dist/ids";
import {
  allowedEngineers,
  allowedPorts,
  deviceToken,
  endpointHost,
  engineerName,
  isoTime,
  matching,
  nullable,
  object,
  oneOf,
  port,
  runCheck,
  sshPublicKey,
  supportUser,
  ticket,
  tunnelId,
  tunnelNetwork,
  url,
  wgKey,
  withDefault,
  bad,
  type Check,
} from "@support-tunnel/common/dist/wire-check";
import type { StateStore } from "./adapters/ports";
import { DeviceError } from "./errors";
import type { TunnelRecordOfSchema } from "./record-schema";

/**
 * requested: registered, nothing created on the machine.
 * connecting: written BEFORE anything is created, so a crash leaves a journal entry
 *   telling the agent to clean up.
 * up: interface, user and sudoers file in place.
 * stopping: written before teardown starts, so a crash mid-stop is finished on restart.
 */
export const PHASES = ["requested", "connecting", "up", "stopping"] as const;

export type TunnelRecord = TunnelRecordOfSchema;
export type TunnelRecordV1 = Omit<TunnelRecord, "version" | "grantedUntil"> & { version: 1 };

const recordFields = {
  tunnelId: tunnelId,
  apiUrl: url,
  deviceToken: deviceToken,
  privateKey: wgKey as Check<WgPrivateKey>,
  presharedKey: wgKey as Check<PresharedKey>,
  network: tunnelNetwork,
  interface: matching(/^std[0-9a-f]{12}$/, "must be a device interface name"),
  supportUser,
  createdAt: isoTime,
  expiresAt: isoTime,
  phase: oneOf(PHASES),
  server: nullable(
    object<NonNullable<TunnelRecord["server"]>>(
      {
        publicKey: wgKey as Check<WgPublicKey>,
        endpoint: endpointHost,
        wgPort: port,
        sshPublicKey,
      },
      { strict: true },
    ),
  ),
  ticket: withDefault(nullable(ticket), null),
  notBefore: withDefault(nullable(isoTime), null),
  allowedEngineers: withDefault(nullable(allowedEngineers), null),
  allowedPorts: withDefault(allowedPorts, []),
  approval: withDefault(
    nullable(
      object<NonNullable<TunnelRecord["approval"]>>(
        { engineer: engineerName, ticket: nullable(ticket) },
        { strict: true },
      ),
    ),
    null,
  ),
};

const version2 = object<TunnelRecord>(
  {
    version: (value, field) =>
      value === 2 ? 2 : bad(field, value === undefined ? "is required" : "must be 2"),
    ...recordFields,
    grantedUntil: isoTime,
  },
  { strict: true },
);

const version1 = object<TunnelRecordV1>(
  {
    version: (value, field) => (value === 1 ? 1 : bad(field, "must be 1")),
    ...recordFields,
  },
  { strict: true },
);

/** A record of this release, as the store writes it (what tunnelRecordSchema accepts). */
export function checkRecord(value: unknown): TunnelRecord {
  return runCheck(version2, value, "record");
}

/** What the store reads: records of this release, and those of the one before, upgraded (storedTunnelRecordSchema). */
export function checkStoredRecord(value: unknown): TunnelRecord {
  const version = (value as { version?: unknown } | null)?.version;
  if (version === 1) return upgradeFromVersion1(runCheck(version1, value, "record"));
  if (version === 2 || typeof value !== "object" || value === null || Array.isArray(value))
    return checkRecord(value);
  return bad("version", "must be 1 or 2");
}

/** The longest grant a customer can give (the wire's ttl limit, ttlSecondsSchema's: 7 days). */
const LONGEST_GRANT_MS = 7 * 24 * 3600 * 1000;

/**
 * A record from the release before this one kept no deadline of its own: its
 * expiry came from the api at request time. No customer can have granted more
 * than the longest ttl from its creation, so that caps it.
 */
export function upgradeFromVersion1(old: TunnelRecordV1): TunnelRecord {
  const longest = new Date(Date.parse(old.createdAt) + LONGEST_GRANT_MS).toISOString();
  return { ...old, version: 2, grantedUntil: earliest(old.expiresAt, longest) };
}

/** The earliest of ISO times. */
export function earliest(first: string, ...rest: string[]): string {
  return rest.reduce((a, b) => (Date.parse(b) < Date.parse(a) ? b : a), first);
}

/** When the tunnel ends on this device: the earliest expiry known, never after the grant. */
export function effectiveExpiry(record: Pick<TunnelRecord, "expiresAt" | "grantedUntil">): string {
  return earliest(record.grantedUntil, record.expiresAt);
}

export function isExpired(
  record: Pick<TunnelRecord, "expiresAt" | "grantedUntil">,
  now: number,
): boolean {
  return Date.parse(effectiveExpiry(record)) <= now;
}

/** True while the customer's start has not come: nothing may connect yet. */
export function isBeforeStart(record: Pick<TunnelRecord, "notBefore">, now: number): boolean {
  return record.notBefore !== null && now < Date.parse(record.notBefore);
}

/** The tunnel's record, or an error naming the tunnel this device does not know. */
export async function requireRecord(store: StateStore, id: string): Promise<TunnelRecord> {
  const record = await store.read(id);
  if (!record) throw new DeviceError(`no tunnel ${id} on this device`);
  return record;
}
