// The local record of one tunnel: what the device must remember between
// commands, across agent restarts and reboots, and nothing more. It holds the
// private key and the PSK, so the store keeps it 0600 in a 0700 directory.
import { z } from "zod";
import {
  deviceTokenSchema,
  endpointHostSchema,
  portSchema,
  presharedKeySchema,
  sshPublicKeySchema,
  supportUserSchema,
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

export const tunnelRecordSchema = z
  .object({
    version: z.literal(1),
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
    /** The earliest expiry known: the api's at request, then also the approval's. */
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
  })
  .strict();

export type TunnelRecord = z.infer<typeof tunnelRecordSchema>;

export function isExpired(record: Pick<TunnelRecord, "expiresAt">, now: number): boolean {
  return Date.parse(record.expiresAt) <= now;
}

/** The tunnel's record, or an error naming the tunnel this device does not know. */
export async function requireRecord(store: StateStore, id: string): Promise<TunnelRecord> {
  const record = await store.read(id);
  if (!record) throw new DeviceError(`no tunnel ${id} on this device`);
  return record;
}
