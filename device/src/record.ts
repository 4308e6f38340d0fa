// The local record of one tunnel: what the device must remember between
// commands, across agent restarts and reboots, and nothing more. It holds the
// private key and the PSK, so the store keeps it 0600 in a 0700 directory.
import { z } from "zod";
import {
  allowedEngineersSchema,
  deviceTokenSchema,
  engineerNameSchema,
  endpointHostSchema,
  portSchema,
  presharedKeySchema,
  sshPublicKeySchema,
  supportUserSchema,
  ticketSchema,
  allowedPortsSchema,
  ttlSecondsSchema,
  tunnelIdSchema,
  tunnelNetworkSchema,
  wgPublicKeySchema,
  isWgKeyString,
  type WgPrivateKey,
} from "@support-tunnel/common";
import type { StateStore } from "./adapters/ports";
import { DeviceError } from "./errors";

/**
 * requested: registered, nothing created on the machine.
 * connecting: written BEFORE anything is created, so a crash leaves a journal entry
 *   telling the agent to clean up.
 * up: interface, user and sudoers file in place.
 * stopping: written before teardown starts, so a crash mid-stop is finished on restart.
 */
export const PHASES = ["requested", "connecting", "up", "stopping"] as const;

const isoTime = z.string().datetime({ offset: true, message: "must be an ISO 8601 time" });

const recordFields = {
  tunnelId: tunnelIdSchema,
  apiUrl: z.string().url(),
  deviceToken: deviceTokenSchema,
  privateKey: z
    .string()
    .refine(isWgKeyString, "must be a base64 WireGuard key")
    .transform((s) => s as WgPrivateKey),
  presharedKey: presharedKeySchema,
  network: tunnelNetworkSchema,
  interface: z.string().regex(/^std[0-9a-f]{12}$/, "must be a device interface name"),
  supportUser: supportUserSchema,
  createdAt: isoTime,
  /**
   * The earliest expiry anyone has set: the device's own deadline, the api's
   * answers and the approval's. Read it through `effectiveExpiry`.
   */
  expiresAt: isoTime,
  phase: z.enum(PHASES),
  /** From the verified approval only, never from the api's unauthenticated view. */
  server: z
    .object({
      publicKey: wgPublicKeySchema,
      endpoint: endpointHostSchema,
      wgPort: portSchema,
      sshPublicKey: sshPublicKeySchema,
    })
    .strict()
    .nullable(),
  // The customer's choices at the request: this record, not the api, is the
  // authority on them. A record from before they existed had none: anyone, at once.
  /** The support case (`--ticket`); an approval must name the same one. */
  ticket: ticketSchema.nullable().default(null),
  /** Access opens no earlier (`--start`): nothing connects before it. */
  notBefore: isoTime.nullable().default(null),
  /** Only these engineers' approvals are taken (`--engineer`); null: anyone support sends. */
  allowedEngineers: allowedEngineersSchema.nullable().default(null),
  /** Device ports support may forward (`--allow-port`); the key's permitopen and the tunnel's nftables table hold to it. */
  allowedPorts: allowedPortsSchema.default([]),
  /** Who approved, and for which ticket, from the verified approval only. */
  approval: z
    .object({ engineer: engineerNameSchema, ticket: ticketSchema.nullable() })
    .strict()
    .nullable()
    .default(null),
};

export const tunnelRecordSchema = z
  .object({
    version: z.literal(2),
    ...recordFields,
    /**
     * What the customer granted, by this device's clock: the time of the request
     * (or the start they chose) plus the duration chosen (flag, else config, else
     * DEFAULT_TTL_SECONDS). Nothing the api says, and no approval, moves it later.
     */
    grantedUntil: isoTime,
  })
  .strict();

export type TunnelRecord = z.infer<typeof tunnelRecordSchema>;

/** The longest grant a customer can give (the wire's ttl limit). */
const LONGEST_GRANT_MS = (ttlSecondsSchema.maxValue ?? 7 * 24 * 3600) * 1000;

/**
 * A record from the release before this one kept no deadline of its own: its
 * expiry came from the api at request time. No customer can have granted more
 * than the longest ttl from its creation, so that caps it.
 */
function upgradeFromVersion1(
  old: z.infer<z.ZodObject<typeof recordFields>> & { version: 1 },
): TunnelRecord {
  const longest = new Date(Date.parse(old.createdAt) + LONGEST_GRANT_MS).toISOString();
  return { ...old, version: 2, grantedUntil: earliest(old.expiresAt, longest) };
}

/** What the store reads: records of this release, and those of the one before, upgraded. */
export const storedTunnelRecordSchema = z
  .discriminatedUnion("version", [
    tunnelRecordSchema,
    z.object({ version: z.literal(1), ...recordFields }).strict(),
  ])
  .transform((r): TunnelRecord => (r.version === 1 ? upgradeFromVersion1(r) : r));

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
