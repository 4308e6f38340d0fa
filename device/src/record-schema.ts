// The tunnel record's contract as zod schemas, and its type. The store checks
// records with record.ts's hand checks, which need no zod; record.spec.ts holds
// those to these schemas on one table of good and bad records.
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
  tunnelIdSchema,
  tunnelNetworkSchema,
  wgPublicKeySchema,
  isWgKeyString,
  type WgPrivateKey,
} from "@support-tunnel/common";
import { PHASES, upgradeFromVersion1, type TunnelRecordV1 } from "./record";

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

export type TunnelRecordOfSchema = z.infer<typeof tunnelRecordSchema>;

/** What the store reads: records of this release, and those of the one before, upgraded. */
export const storedTunnelRecordSchema = z
  .discriminatedUnion("version", [
    tunnelRecordSchema,
    z.object({ version: z.literal(1), ...recordFields }).strict(),
  ])
  .transform((r) => (r.version === 1 ? upgradeFromVersion1(r as TunnelRecordV1) : r));
