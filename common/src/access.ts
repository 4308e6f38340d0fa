// The wire contract of access: customers (each with its own enrollment secret),
// groups of engineers with delegated roles serving customers, and the devices
// engineers may see. Names are short lowercase slugs, like engineer names.
import "./zod-lazy-locales"; // before zod
import { z } from "zod";
import { GROUP_ROLES, type GroupRole } from "./group-roles";
import type { Brand } from "./ids";
import {
  customerNameSchema,
  engineerNameSchema,
  tunnelIdSchema,
  untrustedTextSchema,
} from "./schemas";

/** A customer's own enrollment secret: its devices' tunnels become that customer's. Prefixed `stc_`. */
export type CustomerEnrollmentSecret = Brand<string, "CustomerEnrollmentSecret">;
export const CUSTOMER_SECRET_PREFIX = "stc_";

/** The stable identity a device keeps in its state and sends with each request. */
export type DeviceId = Brand<string, "DeviceId">;

const isoTime = z.iso.datetime({ offset: true, error: "must be an ISO 8601 time" });

export const groupNameSchema = z
  .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
  .regex(
    /^[a-z][a-z0-9._-]{1,31}$/,
    "must be 2 to 32 lowercase letters, digits or ._- starting with a letter",
  );

export const customerEnrollmentSecretSchema = z
  .string()
  .regex(
    new RegExp(`^${CUSTOMER_SECRET_PREFIX}[A-Za-z0-9_-]{43}$`),
    "must be a customer enrollment secret",
  )
  .transform((s) => s as CustomerEnrollmentSecret);

export const deviceIdSchema = z
  .string()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    "must be a lowercase UUID",
  )
  .transform((s) => s as DeviceId);

/**
 * What a member of a group may do (The Bastion's model): owners manage
 * everything in the group, gatekeepers its members and guests, aclkeepers its
 * customers; owners, members and guests use the access (see and approve the
 * tunnels of the group's customers). Every role sees those tunnels.
 */
export { GROUP_ROLES, type GroupRole };
export const groupRoleSchema = z.enum(GROUP_ROLES, {
  error: (issue) =>
    issue.input === undefined ? "is required" : `must be one of ${GROUP_ROLES.join(", ")}`,
});
/** The roles that use the access: approve and stop tunnels of the group's customers. */
export const USING_ROLES: readonly GroupRole[] = ["owner", "member", "guest"];
/** The roles whose access may end by itself (`expiresAt`). */
export const EXPIRING_ROLES: readonly GroupRole[] = ["member", "guest"];

// ---- customers ---------------------------------------------------------------

/** POST /v1/customers */
export const createCustomerRequestSchema = z.object({ name: customerNameSchema }).strict();
export type CreateCustomerRequest = z.infer<typeof createCustomerRequestSchema>;

/** POST /v1/customers and POST /v1/customers/:name/enrollment-secret: the secret is shown only here. */
export const customerSecretResponseSchema = z.object({
  name: customerNameSchema,
  enrollmentSecret: customerEnrollmentSecretSchema,
});
export type CustomerSecretResponse = z.infer<typeof customerSecretResponseSchema>;

export const customerViewSchema = z.object({
  name: customerNameSchema,
  createdAt: isoTime,
  /** The groups serving it, as far as the caller may see them. */
  groups: z.array(groupNameSchema),
});
export type CustomerView = z.infer<typeof customerViewSchema>;

/** GET /v1/customers */
export const customerListSchema = z.object({ customers: z.array(customerViewSchema) });
export type CustomerList = z.infer<typeof customerListSchema>;

// ---- groups ------------------------------------------------------------------

/** POST /v1/groups */
export const createGroupRequestSchema = z.object({ name: groupNameSchema }).strict();
export type CreateGroupRequest = z.infer<typeof createGroupRequestSchema>;

/** POST /v1/groups/:name/members */
export const addMemberRequestSchema = z
  .object({
    engineer: engineerNameSchema,
    role: groupRoleSchema,
    /** A member's or guest's access ends by itself then. */
    expiresAt: isoTime.optional(),
  })
  .strict();
export type AddMemberRequest = z.infer<typeof addMemberRequestSchema>;

/** POST /v1/groups/:name/customers */
export const addGroupCustomerRequestSchema = z.object({ customer: customerNameSchema }).strict();
export type AddGroupCustomerRequest = z.infer<typeof addGroupCustomerRequestSchema>;

export const groupMemberViewSchema = z.object({
  engineer: engineerNameSchema,
  role: groupRoleSchema,
  expiresAt: isoTime.nullable(),
  addedAt: isoTime,
});
export type GroupMemberView = z.infer<typeof groupMemberViewSchema>;

/** GET /v1/groups/:name and the answer of every change to a group. */
export const groupViewSchema = z.object({
  name: groupNameSchema,
  createdAt: isoTime,
  members: z.array(groupMemberViewSchema),
  customers: z.array(customerNameSchema),
});
export type GroupView = z.infer<typeof groupViewSchema>;

/** GET /v1/groups */
export const groupListSchema = z.object({ groups: z.array(groupViewSchema) });
export type GroupList = z.infer<typeof groupListSchema>;

// ---- devices -----------------------------------------------------------------

export const deviceViewSchema = z.object({
  deviceId: deviceIdSchema,
  customer: customerNameSchema.nullable(),
  hostname: untrustedTextSchema.nullable(),
  lastRequestAt: isoTime,
  /** Its live tunnel (pending to connected), if any. */
  liveTunnel: tunnelIdSchema.nullable(),
});
export type DeviceView = z.infer<typeof deviceViewSchema>;

/** GET /v1/devices[?customer=NAME] */
export const deviceListSchema = z.object({ devices: z.array(deviceViewSchema) });
export type DeviceList = z.infer<typeof deviceListSchema>;
