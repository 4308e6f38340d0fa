// The wire contract: every request and response body between the parts, with
// validators whose errors name the bad field. The api validates what it is sent;
// the CLIs validate what the api answers.
import "./zod-lazy-locales"; // before zod
import { z } from "zod";
import { isWgKeyString } from "./crypto";
import type { PresharedKey, TunnelId, WgPublicKey } from "./ids";
import { DEVICE_TOKEN_PREFIX, ENGINEER_TOKEN_PREFIX } from "./ids";
import { isIpv4, isPrivateCidr, parseCidr } from "./net";
import { APPROVAL_REFUSAL_KINDS } from "./refusal";
import { StoppedBy, TunnelState } from "./state";
import { codePointName, findUnsafeCharacter, sanitizeText } from "./untrusted";
import { ValidationError } from "./validation-error";

export { ValidationError };

/**
 * Parses `value` with `schema` or throws a ValidationError whose message names
 * every bad field, e.g. `network: must be a private IPv4 subnet of /30 to /28`.
 */
export function parseWire<S extends z.ZodTypeAny>(
  schema: S,
  value: unknown,
  what = "body",
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((issue) => {
    // An unknown field is named like any other bad field, so a caller sees which one to drop.
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        field: [...issue.path, key].join("."),
        message: "is not an allowed field",
      }));
    }
    return [{ field: issue.path.length ? issue.path.join(".") : what, message: issue.message }];
  });
  const message = issues.map((i) => `${i.field}: ${i.message}`).join("; ");
  throw new ValidationError(message, issues[0]?.field ?? what, issues);
}

// ---- primitives -----------------------------------------------------------

/** zod's `error` option: "is required" when the value is missing, else `message`. */
function requiredOr(message: string) {
  return {
    error: (issue: { input?: unknown }) => (issue.input === undefined ? "is required" : message),
  };
}

export const tunnelIdSchema = z
  .string(requiredOr("must be a string"))
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    "must be a lowercase UUID",
  )
  .transform((s) => s as TunnelId);

export const wgPublicKeySchema = z
  .string(requiredOr("must be a string"))
  .refine(isWgKeyString, "must be a base64 WireGuard public key (44 characters)")
  .transform((s) => s as WgPublicKey);

export const presharedKeySchema = z
  .string(requiredOr("must be a string"))
  .refine(isWgKeyString, "must be a base64 preshared key (44 characters, as `wg genpsk` prints)")
  .transform((s) => s as PresharedKey);

export const MIN_TUNNEL_PREFIX = 28;
export const MAX_TUNNEL_PREFIX = 30;

export const tunnelNetworkSchema = z.string(requiredOr("must be a string")).refine((s) => {
  try {
    const cidr = parseCidr(s, true);
    return (
      cidr.prefix >= MIN_TUNNEL_PREFIX && cidr.prefix <= MAX_TUNNEL_PREFIX && isPrivateCidr(cidr)
    );
  } catch {
    return false;
  }
}, `must be a private IPv4 subnet of /${MAX_TUNNEL_PREFIX} to /${MIN_TUNNEL_PREFIX} (e.g. 10.21.7.0/30)`);

export const ipv4Schema = z
  .string(requiredOr("must be a string"))
  .refine(isIpv4, "must be an IPv4 address");

const isoTimeSchema = z.iso.datetime({
  offset: true,
  error: (issue) =>
    issue.input === undefined
      ? "is required"
      : issue.code === "invalid_type"
        ? "must be a string"
        : "must be an ISO 8601 time",
});

export const hostnameSchema = z
  .string({ error: "must be a string" })
  .max(253, "must be at most 253 characters")
  .regex(
    /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/,
    "must be a hostname",
  );

/** True if `s` holds a C0 or C1 control character (or DEL): what could drive a terminal. */
export function hasControlCharacters(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/**
 * Free text a device or an engineer sends to be stored and shown to others
 * (descriptions, stop reasons): refused when it holds anything that could drive
 * a terminal or hide (control characters, bidi controls, invisible characters;
 * see untrusted.ts). The message names the class and the character.
 */
export const descriptionSchema = z
  .string({ error: "must be a string" })
  .max(500, "must be at most 500 characters")
  .superRefine((s, ctx) => {
    const found = findUnsafeCharacter(s);
    if (found) {
      ctx.addIssue({
        code: "custom",
        message: `must not contain ${found.class} (found ${codePointName(found.character)})`,
      });
    }
  });

/**
 * Free text in an api answer (hostnames, descriptions, reasons, names, audit
 * details, error messages): any string, made safe to print as it is parsed
 * (sanitizeText), so no CLI has to remember to. A lying api can put anything here.
 */
export const untrustedTextSchema = z
  .string(requiredOr("must be a string"))
  .transform((s) => sanitizeText(s));

/** Where a device sends WireGuard packets: an IPv4 address or a DNS name (one message for both). */
export const endpointHostSchema = z
  .string(requiredOr("must be a string"))
  .refine(
    (s) => isIpv4(s) || hostnameSchema.safeParse(s).success,
    "must be an IPv4 address or a hostname",
  );

export const supportUserSchema = z
  .string(requiredOr("must be a string"))
  .regex(/^support[0-9a-f]{4,16}$/, "must be `support` followed by 4 to 16 hex digits");

/** Enum errors: "is required" when the field is missing, else the allowed values. */
function oneOf(values: readonly string[]) {
  return requiredOr(`must be one of ${values.join(", ")}`);
}

export const providerSchema = z.enum(["gcp", "ssh", "netns"], oneOf(["gcp", "ssh", "netns"]));
export type ProviderName = z.infer<typeof providerSchema>;

export const instanceIdSchema = z
  .string(requiredOr("must be a string"))
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, "must be 1 to 128 letters, digits or ._:@-");

export const portSchema = z
  .number(requiredOr("must be a number"))
  .int("must be an integer")
  .min(1, "must be between 1 and 65535")
  .max(65535, "must be between 1 and 65535");

/** One OpenSSH public key line: type, base64 blob, optional comment. */
export const sshPublicKeySchema = z
  .string(requiredOr("must be a string"))
  .max(1024, "must be at most 1024 characters")
  .regex(
    /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/]+={0,2}( [A-Za-z0-9@._-]{1,64})?$/,
    "must be one OpenSSH public key line",
  );

export const stateSchema = z.enum(TunnelState, oneOf(Object.values(TunnelState)));
export const stoppedBySchema = z.enum(StoppedBy);

export const roleSchema = z.enum(
  ["viewer", "operator", "admin"],
  oneOf(["viewer", "operator", "admin"]),
);
export type EngineerRole = z.infer<typeof roleSchema>;
export const ROLE_RANK: Record<EngineerRole, number> = { viewer: 1, operator: 2, admin: 3 };

export const engineerNameSchema = z
  .string(requiredOr("must be a string"))
  .regex(
    /^[a-z][a-z0-9._-]{1,31}$/,
    "must be 2 to 32 lowercase letters, digits or ._- starting with a letter",
  );

/**
 * The support case a tunnel is for, as the customer typed it (`--ticket ABC-123`):
 * shown to engineers, sealed into the approval, and written into the device's
 * passwd comment and sudoers file, so no colon, comma, space or control character.
 */
export const ticketSchema = z
  .string(requiredOr("must be a string"))
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._#/+@-]{0,63}$/,
    "must be 1 to 64 letters, digits or ._#/+@- starting with a letter or digit",
  );

/** The engineers the customer lets take a tunnel (`--engineer NAME`, repeatable). */
export const MAX_ALLOWED_ENGINEERS = 32;
export const allowedEngineersSchema = z
  .array(engineerNameSchema, requiredOr("must be a list of engineer names"))
  .min(1, "must name at least one engineer")
  .max(MAX_ALLOWED_ENGINEERS, `must name at most ${MAX_ALLOWED_ENGINEERS} engineers`)
  .refine((names) => new Set(names).size === names.length, "must not name an engineer twice");

/** The SSH port: always reachable through the tunnel, never one of the allowed ports. */
export const SSH_PORT = 22;
/** The most device ports a customer can open to forwards (`--allow-port`, repeatable). */
export const MAX_ALLOWED_PORTS = 16;
/** One device port the customer lets support forward: 1 to 65535, not 22 (SSH, always open). */
export const allowedPortSchema = portSchema.refine(
  (p) => p !== SSH_PORT,
  "must not be 22: SSH is always reachable through the tunnel",
);
/** The device ports the customer lets support forward; sorted, no repeats. */
export const allowedPortsSchema = z
  .array(allowedPortSchema, requiredOr("must be a list of ports"))
  .max(MAX_ALLOWED_PORTS, `must name at most ${MAX_ALLOWED_PORTS} ports`)
  .refine((ports) => new Set(ports).size === ports.length, "must not name a port twice");

export const deviceTokenSchema = z
  .string()
  .regex(new RegExp(`^${DEVICE_TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`), "must be a device token");
export const engineerTokenSchema = z
  .string()
  .regex(new RegExp(`^${ENGINEER_TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`), "must be an engineer token");

export const sealedApprovalSchema = z
  .string(requiredOr("must be a string"))
  .max(4096, "must be at most 4096 characters")
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64");

/** Long-poll seconds: `?wait=S`, at most 30. */
export const MAX_WAIT_SECONDS = 30;
export const waitSecondsSchema = z.coerce
  .number({ error: "must be a number of seconds" })
  .int("must be a whole number of seconds")
  .min(0, `must be between 0 and ${MAX_WAIT_SECONDS}`)
  .max(MAX_WAIT_SECONDS, `must be between 0 and ${MAX_WAIT_SECONDS}`);

/** Tunnel lifetime the customer grants, in seconds: one minute to seven days. */
export const ttlSecondsSchema = z
  .number({ error: "must be a number" })
  .int("must be an integer")
  .min(60, "must be at least 60 seconds")
  .max(7 * 24 * 3600, "must be at most 7 days");

// ---- approval payload (inside the sealed approval) --------------------------

export const approvalPayloadSchema = z
  .object({
    tunnelId: tunnelIdSchema,
    serverWgPublicKey: wgPublicKeySchema,
    endpoint: endpointHostSchema,
    wgPort: portSchema,
    sshPublicKey: sshPublicKeySchema,
    expiresAt: isoTimeSchema,
    /** Who approved: the device refuses an engineer the customer did not allow. */
    engineer: engineerNameSchema,
    /** The support case, as the engineer was shown it; absent when the customer gave none. */
    ticket: ticketSchema.optional(),
  })
  .strict();

// ---- device routes -----------------------------------------------------------

/** POST /v1/device/tunnels */
export const createTunnelRequestSchema = z
  .object({
    deviceWgPublicKey: wgPublicKeySchema,
    network: tunnelNetworkSchema,
    hostname: hostnameSchema.optional(),
    description: descriptionSchema.optional(),
    /** How long the customer grants; the api caps it at its configured maximum. */
    ttlSeconds: ttlSecondsSchema.optional(),
    /** The support case (`--ticket`). */
    ticket: ticketSchema.optional(),
    /** Access opens no earlier (`--start`); the grant runs from then for ttlSeconds. */
    notBefore: isoTimeSchema.optional(),
    /** Only these engineers may approve (`--engineer`); absent: any operator. */
    allowedEngineers: allowedEngineersSchema.optional(),
    /** Device ports support may forward (`--allow-port`); absent: none but SSH. */
    allowedPorts: allowedPortsSchema.optional(),
  })
  .strict();
export type CreateTunnelRequest = z.infer<typeof createTunnelRequestSchema>;

export const createTunnelResponseSchema = z.object({
  tunnelId: tunnelIdSchema,
  token: deviceTokenSchema,
  expiresAt: isoTimeSchema,
});
export type CreateTunnelResponse = z.infer<typeof createTunnelResponseSchema>;

/** What the api knows of the tunnel server once a tunnel is started. */
export const deviceServerViewSchema = z.object({
  wgPublicKey: wgPublicKeySchema,
  publicIp: ipv4Schema,
  wgPort: portSchema,
  /**
   * Any string: openApproval is the one judge of an approval, so one that breaks
   * the format (not base64, too long) is refused as an approval (exit 3 on the
   * device), like a forged one, not taken for a broken api answer.
   */
  approval: z.string(requiredOr("must be a string")),
});

/**
 * The customer's choices as the api stored them, in both views. Informational:
 * the device enforces its own record of them. An api from before they existed
 * sends none, which reads as none chosen.
 */
const tunnelChoicesViewFields = {
  ticket: ticketSchema.nullable().default(null),
  notBefore: isoTimeSchema.nullable().default(null),
  allowedEngineers: z.array(engineerNameSchema).nullable().default(null),
  /** Device ports support may forward; empty: none but SSH. */
  allowedPorts: allowedPortsSchema.default([]),
};

/** GET /v1/device/tunnel */
export const deviceTunnelViewSchema = z.object({
  tunnelId: tunnelIdSchema,
  state: stateSchema,
  network: tunnelNetworkSchema,
  createdAt: isoTimeSchema,
  expiresAt: isoTimeSchema,
  server: deviceServerViewSchema.nullable(),
  stoppedBy: stoppedBySchema.nullable(),
  stopReason: untrustedTextSchema.nullable(),
  ...tunnelChoicesViewFields,
});
export type DeviceTunnelView = z.infer<typeof deviceTunnelViewSchema>;

/** POST /v1/device/tunnel/connected */
export const reportConnectedRequestSchema = z.object({ supportUser: supportUserSchema }).strict();
export type ReportConnectedRequest = z.infer<typeof reportConnectedRequestSchema>;

/** A device's id of one SSH session of support: 12 hex digits. */
export const sessionIdSchema = z
  .string(requiredOr("must be a string"))
  .regex(/^[0-9a-f]{12}$/, "must be 12 lowercase hex digits");

/**
 * POST /v1/device/tunnel/sessions: a session of support opened, or closed, on the
 * device. Who and when, never what was typed or shown; sent again whole when it
 * closes, so a lost report is made good by the next.
 */
export const reportSessionRequestSchema = z
  .object({
    session: sessionIdSchema,
    /** The engineer whose approval the device accepted; null when it named none. */
    engineer: engineerNameSchema.nullable(),
    startedAt: isoTimeSchema,
    /** Absent or null while the session is open. */
    endedAt: isoTimeSchema.nullable().optional(),
    /** The session's exit code, once it closed; null when it died of a signal. */
    exitCode: z
      .number({ error: "must be a number" })
      .int("must be an integer")
      .nullable()
      .optional(),
  })
  .strict()
  .refine((r) => !r.endedAt || Date.parse(r.endedAt) >= Date.parse(r.startedAt), {
    message: "must not be before startedAt",
    path: ["endedAt"],
  });
export type ReportSessionRequest = z.infer<typeof reportSessionRequestSchema>;

/** One session of support on the device, as engineers see it (in the tunnel views). */
export const tunnelSessionViewSchema = z.object({
  session: sessionIdSchema,
  engineer: untrustedTextSchema.nullable(),
  startedAt: isoTimeSchema,
  endedAt: isoTimeSchema.nullable(),
  exitCode: z.number().int().nullable(),
});
export type TunnelSessionView = z.infer<typeof tunnelSessionViewSchema>;
export const approvalRefusalKindSchema = z.enum(
  APPROVAL_REFUSAL_KINDS,
  oneOf(APPROVAL_REFUSAL_KINDS),
);

/** POST /v1/device/tunnel/refusal: the device refused the approval, and why (a kind, no text). */
export const reportRefusalRequestSchema = z.object({ kind: approvalRefusalKindSchema }).strict();
export type ReportRefusalRequest = z.infer<typeof reportRefusalRequestSchema>;

/** Optional body of both DELETE routes. */
export const stopTunnelRequestSchema = z
  .object({
    reason: descriptionSchema
      .pipe(z.string().max(200, "must be at most 200 characters"))
      .optional(),
  })
  .strict();
export type StopTunnelRequest = z.infer<typeof stopTunnelRequestSchema>;

// ---- engineer routes ----------------------------------------------------------

export const tunnelServerViewSchema = z.object({
  instanceId: instanceIdSchema,
  provider: providerSchema,
  publicIp: ipv4Schema,
  wgPort: portSchema,
  wgPublicKey: wgPublicKeySchema,
});
export type TunnelServerView = z.infer<typeof tunnelServerViewSchema>;

/** A customer's name (see access.ts): the tunnels of its devices are theirs. */
export const customerNameSchema = z
  .string(requiredOr("must be a string"))
  .regex(
    /^[a-z][a-z0-9._-]{1,31}$/,
    "must be 2 to 32 lowercase letters, digits or ._- starting with a letter",
  );

/** GET /v1/tunnels/:id and each element of GET /v1/tunnels */
export const tunnelViewSchema = z.object({
  tunnelId: tunnelIdSchema,
  state: stateSchema,
  network: tunnelNetworkSchema,
  hostname: untrustedTextSchema.nullable(),
  description: untrustedTextSchema.nullable(),
  deviceWgPublicKey: wgPublicKeySchema,
  createdAt: isoTimeSchema,
  updatedAt: isoTimeSchema,
  expiresAt: isoTimeSchema,
  server: tunnelServerViewSchema.nullable(),
  supportUser: supportUserSchema.nullable(),
  approvedBy: untrustedTextSchema.nullable(),
  stoppedBy: stoppedBySchema.nullable(),
  stopReason: untrustedTextSchema.nullable(),
  endedAt: isoTimeSchema.nullable(),
  ...tunnelChoicesViewFields,
  /** Whose device it is; null for a tunnel of no customer (the global enrollment secret). */
  customer: customerNameSchema.nullable().default(null),
  /**
   * Support's sessions on the device as it reported them, oldest first; those
   * without `endedAt` are open: who is in right now. An api from before sends none.
   */
  sessions: z.array(tunnelSessionViewSchema).default([]),
  /**
   * The device's refusal of the last approval, which took the tunnel back to
   * pending; null once approved again. An api from before it sends none.
   */
  refusal: z
    .object({ kind: approvalRefusalKindSchema, at: isoTimeSchema })
    .nullable()
    .default(null),
});
export type TunnelView = z.infer<typeof tunnelViewSchema>;

/**
 * GET /v1/tunnels: one page, newest first. `nextCursor` is set when older tunnels
 * follow: ask again with `?cursor=` it (an api of the release before sends none).
 */
export const tunnelListSchema = z.object({
  tunnels: z.array(tunnelViewSchema),
  nextCursor: z.string().max(200).nullable().optional(),
});
export type TunnelList = z.infer<typeof tunnelListSchema>;

/** Tunnels in one page of GET /v1/tunnels at most (and by default). */
export const MAX_TUNNEL_PAGE = 500;

export const tunnelPageLimitSchema = z.coerce
  .number({ error: "must be a number" })
  .int("must be a whole number")
  .min(1, `must be between 1 and ${MAX_TUNNEL_PAGE}`)
  .max(MAX_TUNNEL_PAGE, `must be between 1 and ${MAX_TUNNEL_PAGE}`);

/** Where a page of tunnels ends: the last one's creation time and id (opaque to clients). */
export interface TunnelCursor {
  createdAt: Date;
  id: TunnelId;
}

export function encodeTunnelCursor(cursor: TunnelCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString(
    "base64url",
  );
}

/** A page cursor's JSON (base64url), or null for anything this api did not give. */
function decodeCursor(s: string): unknown {
  try {
    return JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
  } catch {
    return null;
  }
}

export const tunnelCursorSchema = z
  .string()
  .max(200, "is not a cursor this api gave")
  .transform((s, ctx): TunnelCursor => {
    const parsed = z.tuple([z.iso.datetime(), tunnelIdSchema]).safeParse(decodeCursor(s));
    if (!parsed.success) {
      ctx.addIssue({ code: "custom", message: "is not a cursor this api gave" });
      return z.NEVER;
    }
    return { createdAt: new Date(parsed.data[0]), id: parsed.data[1] };
  });

/** `?live=1`: only tunnels not over yet (pending, started, running, connected). */
export const liveFlagSchema = z.enum(["0", "1"], "must be 0 or 1").transform((v) => v === "1");

/** POST /v1/tunnels/:id/server */
export const approveTunnelRequestSchema = z
  .object({
    instanceId: instanceIdSchema,
    provider: providerSchema,
    publicIp: ipv4Schema,
    wgPort: portSchema,
    wgPublicKey: wgPublicKeySchema,
    approval: sealedApprovalSchema,
  })
  .strict();
export type ApproveTunnelRequest = z.infer<typeof approveTunnelRequestSchema>;

/** DELETE /v1/tunnels/:id/server: take back an approval the device has not acted on. */
export const withdrawApprovalRequestSchema = z.object({ instanceId: instanceIdSchema }).strict();
export type WithdrawApprovalRequest = z.infer<typeof withdrawApprovalRequestSchema>;

export const auditEntrySchema = z.object({
  id: untrustedTextSchema,
  tunnelId: tunnelIdSchema.nullable(),
  actor: untrustedTextSchema,
  action: untrustedTextSchema,
  detail: untrustedTextSchema.nullable(),
  clientAddress: untrustedTextSchema.nullable(),
  at: isoTimeSchema,
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;
export const auditListSchema = z.object({ entries: z.array(auditEntrySchema) });
export type AuditList = z.infer<typeof auditListSchema>;

/**
 * GET /v1/audit (admins): one page of the whole log, tunnel and organization
 * events (engineers, customers, groups) alike, newest first. The entries are the
 * per-tunnel audit's; `nextCursor` is set when older entries follow.
 */
export const auditPageSchema = auditListSchema.extend({
  nextCursor: z.string().max(200).nullable(),
});
export type AuditPage = z.infer<typeof auditPageSchema>;

/** Entries in one page of GET /v1/audit at most; the default is DEFAULT_AUDIT_PAGE. */
export const MAX_AUDIT_PAGE = 500;
export const DEFAULT_AUDIT_PAGE = 100;

export const auditPageLimitSchema = z.coerce
  .number({ error: "must be a number" })
  .int("must be a whole number")
  .min(1, `must be between 1 and ${MAX_AUDIT_PAGE}`)
  .max(MAX_AUDIT_PAGE, `must be between 1 and ${MAX_AUDIT_PAGE}`);

/**
 * Where a page of the audit log ends: the last entry's time and its insertion
 * number (entries of one transaction share a time), opaque to clients.
 */
export interface AuditCursor {
  at: Date;
  seq: string;
}

export function encodeAuditCursor(cursor: AuditCursor): string {
  return Buffer.from(JSON.stringify([cursor.at.toISOString(), cursor.seq])).toString("base64url");
}

export const auditCursorSchema = z
  .string()
  .max(200, "is not a cursor this api gave")
  .transform((s, ctx): AuditCursor => {
    const parsed = z
      .tuple([z.iso.datetime(), z.string().regex(/^[0-9]{1,19}$/)])
      .safeParse(decodeCursor(s));
    if (!parsed.success) {
      ctx.addIssue({ code: "custom", message: "is not a cursor this api gave" });
      return z.NEVER;
    }
    return { at: new Date(parsed.data[0]), seq: parsed.data[1] };
  });

/**
 * `?action=`: an action (`engineer.revoke`) or a family of them (`engineer`,
 * `group.member`: every action under it).
 */
export const auditActionFilterSchema = z
  .string({ error: "must be a string" })
  .regex(
    /^[a-z][a-z-]{0,31}(\.[a-z][a-z-]{0,31}){0,3}$/,
    "must be an action like tunnel.stop, or a family like engineer",
  );

/** One engineer as admins see them (GET /v1/engineers): never a token or its hash. */
export const engineerViewSchema = z.object({
  name: engineerNameSchema,
  role: roleSchema,
  createdAt: isoTimeSchema,
  /** Who made them, as the audit log names actors (`engineer:alice`, `cli`, `system`); null if unknown. */
  createdBy: untrustedTextSchema.nullable(),
  /** Set for an engineer revoked since: their token no longer works. */
  revokedAt: isoTimeSchema.nullable(),
  revokedBy: untrustedTextSchema.nullable(),
});
export type EngineerView = z.infer<typeof engineerViewSchema>;
export const engineerListSchema = z.object({ engineers: z.array(engineerViewSchema) });
export type EngineerList = z.infer<typeof engineerListSchema>;

/** GET /v1/whoami */
export const whoamiSchema = z.object({ name: engineerNameSchema, role: roleSchema });
export type Whoami = z.infer<typeof whoamiSchema>;

/** POST /v1/engineers */
export const createEngineerRequestSchema = z
  .object({ name: engineerNameSchema, role: roleSchema })
  .strict();
export type CreateEngineerRequest = z.infer<typeof createEngineerRequestSchema>;
export const createEngineerResponseSchema = z.object({
  name: engineerNameSchema,
  role: roleSchema,
  token: engineerTokenSchema,
});
export type CreateEngineerResponse = z.infer<typeof createEngineerResponseSchema>;

/** Every error body the api sends. */
export const apiErrorBodySchema = z.object({
  statusCode: z.number(),
  message: untrustedTextSchema,
  field: untrustedTextSchema.optional(),
});
export type ApiErrorBody = z.infer<typeof apiErrorBodySchema>;
