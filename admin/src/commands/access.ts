// `support customers`, `support groups`, `support group …` and `support devices`:
// who may help whom. The api decides every rule and names what is missing
// ("bob is not a gatekeeper of acme-team"); these check arguments and print.
import {
  customerNameSchema,
  engineerNameSchema,
  groupNameSchema,
  groupRoleSchema,
  parseWire,
  renderTable,
  type CustomerList,
  type CustomerSecretResponse,
  type DeviceList,
  type GroupList,
  type GroupView,
} from "@support-tunnel/common";
import type { Context } from "../context";
import { CliError, ExitCode } from "../errors";

/** `30d`, `12h`, `90m`, `45s`, or an ISO 8601 time: when a member's or guest's access ends. */
export function parseExpiry(text: string, now: Date): string {
  const relative = /^(\d{1,5})([smhd])$/.exec(text.trim());
  if (relative) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[relative[2] as "s" | "m" | "h" | "d"];
    return new Date(now.getTime() + Number(relative[1]) * unit * 1000).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const at = new Date(text);
    if (!Number.isNaN(at.getTime())) return at.toISOString();
  }
  throw new CliError(
    `--expires must be a duration (30d, 12h, 90m) or an ISO 8601 time, not ${text}`,
    ExitCode.Usage,
  );
}

const customerName = (s: string) => parseWire(customerNameSchema, s, "customer");
const groupName = (s: string) => parseWire(groupNameSchema, s, "group");
const engineerName = (s: string) => parseWire(engineerNameSchema, s, "engineer");

export async function customersList({ ctx }: { ctx: Context }): Promise<CustomerList> {
  const list = await ctx.api().listCustomers();
  ctx.printer.data(list, () =>
    list.customers.length === 0
      ? "no customers"
      : renderTable(
          ["CUSTOMER", "GROUPS", "CREATED"],
          list.customers.map((c) => [c.name, c.groups.join(",") || "-", c.createdAt]),
        ),
  );
  return list;
}

function printSecret(ctx: Context, answer: CustomerSecretResponse, verb: string): void {
  ctx.printer.data(answer, () => answer.enrollmentSecret);
  ctx.printer.info(
    `${verb} ${answer.name}'s enrollment secret (shown only now). On each of its devices put it in ` +
      `"enrollmentSecret" of /etc/support-tunnel/device.json (root's, 0600) or in SUPPORT_ENROLLMENT_SECRET.`,
  );
}

export async function customersCreate(opts: {
  name: string;
  ctx: Context;
}): Promise<CustomerSecretResponse> {
  const answer = await opts.ctx.api().createCustomer(customerName(opts.name));
  printSecret(opts.ctx, answer, "created customer: this is");
  return answer;
}

export async function customersRotateSecret(opts: {
  name: string;
  ctx: Context;
}): Promise<CustomerSecretResponse> {
  const answer = await opts.ctx.api().rotateCustomerSecret(customerName(opts.name));
  printSecret(opts.ctx, answer, "the old secret no longer works: this is");
  return answer;
}

export function renderGroup(g: GroupView): string {
  const members =
    g.members.length === 0
      ? "members:   none (an admin adds the first owner)"
      : renderTable(
          ["ENGINEER", "ROLE", "EXPIRES", "ADDED"],
          g.members.map((m) => [m.engineer, m.role, m.expiresAt ?? "-", m.addedAt]),
        );
  return [`group:     ${g.name}`, `customers: ${g.customers.join(", ") || "none"}`, members].join(
    "\n",
  );
}

export async function groupsList({ ctx }: { ctx: Context }): Promise<GroupList> {
  const list = await ctx.api().listGroups();
  ctx.printer.data(list, () =>
    list.groups.length === 0
      ? "no groups"
      : renderTable(
          ["GROUP", "CUSTOMERS", "MEMBERS"],
          list.groups.map((g) => [
            g.name,
            g.customers.join(",") || "-",
            g.members.map((m) => `${m.engineer}(${m.role})`).join(",") || "-",
          ]),
        ),
  );
  return list;
}

async function printGroup(ctx: Context, work: Promise<GroupView>): Promise<GroupView> {
  const group = await work;
  ctx.printer.data(group, () => renderGroup(group));
  return group;
}

export function groupsCreate(opts: { name: string; ctx: Context }): Promise<GroupView> {
  return printGroup(opts.ctx, opts.ctx.api().createGroup(groupName(opts.name)));
}

export function groupsShow(opts: { name: string; ctx: Context }): Promise<GroupView> {
  return printGroup(opts.ctx, opts.ctx.api().getGroup(groupName(opts.name)));
}

export function groupAddMember(opts: {
  group: string;
  engineer: string;
  role: string;
  expires?: string;
  ctx: Context;
}): Promise<GroupView> {
  const role = parseWire(groupRoleSchema, opts.role, "--role");
  const expiresAt = opts.expires === undefined ? undefined : parseExpiry(opts.expires, new Date());
  return printGroup(
    opts.ctx,
    opts.ctx.api().addGroupMember(groupName(opts.group), {
      engineer: engineerName(opts.engineer),
      role,
      ...(expiresAt ? { expiresAt } : {}),
    }),
  );
}

export function groupRemoveMember(opts: {
  group: string;
  engineer: string;
  ctx: Context;
}): Promise<GroupView> {
  return printGroup(
    opts.ctx,
    opts.ctx.api().removeGroupMember(groupName(opts.group), engineerName(opts.engineer)),
  );
}

export function groupAddCustomer(opts: {
  group: string;
  customer: string;
  ctx: Context;
}): Promise<GroupView> {
  return printGroup(
    opts.ctx,
    opts.ctx.api().addGroupCustomer(groupName(opts.group), customerName(opts.customer)),
  );
}

export function groupRemoveCustomer(opts: {
  group: string;
  customer: string;
  ctx: Context;
}): Promise<GroupView> {
  return printGroup(
    opts.ctx,
    opts.ctx.api().removeGroupCustomer(groupName(opts.group), customerName(opts.customer)),
  );
}

export async function devices(opts: { customer?: string; ctx: Context }): Promise<DeviceList> {
  const customer = opts.customer === undefined ? undefined : customerName(opts.customer);
  const list = await opts.ctx.api().listDevices(customer);
  opts.ctx.printer.data(list, () =>
    list.devices.length === 0
      ? "no devices"
      : renderTable(
          ["DEVICE", "CUSTOMER", "HOSTNAME", "LAST REQUEST", "LIVE TUNNEL"],
          list.devices.map((d) => [
            d.deviceId,
            d.customer ?? "-",
            d.hostname ?? "-",
            d.lastRequestAt,
            d.liveTunnel ?? "-",
          ]),
        ),
  );
  return list;
}
