// Hand-written checks for the few wire types an idle device agent reads, so that
// it need not load zod (~12 MiB resident) to wait: the api's DeviceTunnelView
// here, the device's own record file in device/. They accept and produce exactly
// what the zod schemas in schemas.ts do; wire-check.spec.ts feeds both the same
// table of good and bad input, so the two cannot drift apart. The first bad
// field throws a ValidationError naming it, as parseWire does.
import type { DeviceTunnelView } from "./schemas";
import type { TunnelId } from "./ids";
import { isIpv4, isPrivateCidr, parseCidr } from "./net";
import { StoppedBy, TunnelState } from "./state";
import { sanitizeText } from "./untrusted";
import { ValidationError } from "./validation-error";
import { isWgKeyString } from "./wg-key";

/** A field's value and the dotted path that names it in errors. */
export type Check<T> = (value: unknown, field: string) => T;

/** The value at the top is named by `runCheck`'s `what`, as parseWire names it. */
const TOP = "";

type Issue = { field: string; message: string };

function throwIssues(issues: Issue[]): never {
  const message = issues.map((i) => `${i.field}: ${i.message}`).join("; ");
  throw new ValidationError(message, issues[0]!.field, issues);
}

export function bad(field: string, message: string): never {
  throwIssues([{ field, message }]);
}

/** `check` on a whole value; a fault of the value itself is named `what`. */
export function runCheck<T>(check: Check<T>, value: unknown, what: string): T {
  try {
    return check(value, TOP);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throwIssues(err.issues.map((i) => (i.field === TOP ? { ...i, field: what } : i)));
  }
}

const join = (field: string, key: string) => (field === TOP ? key : `${field}.${key}`);

/**
 * An object with `fields` checked and only those kept (zod's `z.object`), or,
 * `strict`, refused when it holds any other (`.strict()`).
 */
export function object<T>(
  fields: { [K in keyof T]: Check<T[K]> },
  options: { strict?: boolean } = {},
): Check<T> {
  return (value, field) => {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      bad(field, value === undefined ? "is required" : "must be an object");
    const input = value as Record<string, unknown>;
    // Every bad field is named, as parseWire names them, not only the first.
    const issues: Issue[] = [];
    if (options.strict) {
      for (const key of Object.keys(input))
        if (!(key in fields))
          issues.push({ field: join(field, key), message: "is not an allowed field" });
    }
    const out = {} as T;
    for (const key of Object.keys(fields) as (keyof T & string)[]) {
      try {
        const checked = fields[key](input[key], join(field, key));
        // zod leaves out an optional field that was absent.
        if (checked !== undefined || key in input) out[key] = checked;
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        issues.push(...err.issues);
      }
    }
    if (issues.length) throwIssues(issues);
    return out;
  };
}

export function string(value: unknown, field: string): string {
  if (typeof value !== "string")
    bad(field, value === undefined ? "is required" : "must be a string");
  return value;
}

/** A string that `test` accepts. */
export function stringThat(test: (s: string) => boolean, message: string): Check<string> {
  return (value, field) => {
    const s = string(value, field);
    if (!test(s)) bad(field, message);
    return s;
  };
}

export const matching = (pattern: RegExp, message: string) =>
  stringThat((s) => pattern.test(s), message);

/** One of `values` (zod's `z.enum`). */
export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (value, field) => {
    if (!values.includes(value as T))
      bad(field, value === undefined ? "is required" : `must be one of ${values.join(", ")}`);
    return value as T;
  };
}

/** `check`, or null (`.nullable()`); with `absent`, a missing field reads as it (`.default()`). */
export function nullable<T>(check: Check<T>): Check<T | null> {
  return (value, field) => (value === null ? null : check(value, field));
}

export function withDefault<T>(check: Check<T>, absent: T): Check<T> {
  return (value, field) => (value === undefined ? absent : check(value, field));
}

export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (value, field) => (value === undefined ? undefined : check(value, field));
}

export function arrayOf<T>(
  item: Check<T>,
  limits: { min?: [number, string]; max?: [number, string]; unique?: string } = {},
): Check<T[]> {
  return (value, field) => {
    if (!Array.isArray(value)) bad(field, value === undefined ? "is required" : "must be an array");
    const items = value.map((v, i) => item(v, join(field, String(i))));
    if (limits.min && items.length < limits.min[0]) bad(field, limits.min[1]);
    if (limits.max && items.length > limits.max[0]) bad(field, limits.max[1]);
    if (limits.unique && new Set(items).size !== items.length) bad(field, limits.unique);
    return items;
  };
}

export function port(value: unknown, field: string): number {
  if (typeof value !== "number")
    bad(field, value === undefined ? "is required" : "must be a number");
  if (!Number.isInteger(value)) bad(field, "must be an integer");
  if (value < 1 || value > 65535) bad(field, "must be between 1 and 65535");
  return value;
}

// ---- the formats, as schemas.ts words them ----------------------------------

/** zod's `z.iso.datetime({ offset: true })`: RFC 3339 with seconds, `Z` or an offset. */
const DATE =
  "(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|(?:02)-(?:0[1-9]|1\\d|2[0-8])))";
const ISO_TIME = new RegExp(
  `^${DATE}T(?:(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d+)?(?:Z|([+-](?:[01]\\d|2[0-3]):[0-5]\\d)))$`,
);
export const isoTime = matching(ISO_TIME, "must be an ISO 8601 time");

export const tunnelId = matching(
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  "must be a lowercase UUID",
) as Check<TunnelId>;

export const wgKey = stringThat(isWgKeyString, "must be a base64 WireGuard key (44 characters)");

export const tunnelNetwork = stringThat((s) => {
  try {
    const cidr = parseCidr(s, true);
    return cidr.prefix >= 28 && cidr.prefix <= 30 && isPrivateCidr(cidr);
  } catch {
    return false;
  }
}, "must be a private IPv4 subnet of /30 to /28 (e.g. 10.21.7.0/30)");

/** zod's `z.string().url()`: what URL parses, trimmed and without tabs or newlines. */
export const url: Check<string> = (value, field) => {
  const trimmed = string(value, field).trim();
  if (!URL.canParse(trimmed)) bad(field, "must be a URL");
  return trimmed.replace(/[\t\n\r]/g, "");
};

export const ipv4 = stringThat(isIpv4, "must be an IPv4 address");

export const engineerName = matching(
  /^[a-z][a-z0-9._-]{1,31}$/,
  "must be 2 to 32 lowercase letters, digits or ._- starting with a letter",
);

export const ticket = matching(
  /^[A-Za-z0-9][A-Za-z0-9._#/+@-]{0,63}$/,
  "must be 1 to 64 letters, digits or ._#/+@- starting with a letter or digit",
);

export const allowedPorts = arrayOf(
  (value, field) => {
    const p = port(value, field);
    if (p === 22) bad(field, "must not be 22: SSH is always reachable through the tunnel");
    return p;
  },
  { max: [16, "must name at most 16 ports"], unique: "must not name a port twice" },
);

export const allowedEngineers = arrayOf(engineerName, {
  min: [1, "must name at least one engineer"],
  max: [32, "must name at most 32 engineers"],
  unique: "must not name an engineer twice",
});

export const supportUser = matching(
  /^support[0-9a-f]{4,16}$/,
  "must be `support` followed by 4 to 16 hex digits",
);

export const deviceToken = matching(/^std_[A-Za-z0-9_-]{43}$/, "must be a device token");

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;
export const endpointHost = stringThat(
  (s) => (s.length <= 253 && HOSTNAME.test(s)) || isIpv4(s),
  "must be an IPv4 address or a hostname",
);

export const sshPublicKey = stringThat(
  (s) =>
    s.length <= 1024 &&
    /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/]+={0,2}( [A-Za-z0-9@._-]{1,64})?$/.test(
      s,
    ),
  "must be one OpenSSH public key line",
);

/** Free text from the api: any string, made safe to print. */
export const untrustedText: Check<string> = (value, field) => sanitizeText(string(value, field));

// ---- the api's answers --------------------------------------------------------

const deviceServerView = object<NonNullable<DeviceTunnelView["server"]>>({
  wgPublicKey: wgKey as Check<NonNullable<DeviceTunnelView["server"]>["wgPublicKey"]>,
  publicIp: ipv4,
  wgPort: port,
  approval: string,
});

const deviceTunnelView = object<DeviceTunnelView>({
  tunnelId,
  state: oneOf(Object.values(TunnelState)),
  network: tunnelNetwork,
  createdAt: isoTime,
  expiresAt: isoTime,
  server: nullable(deviceServerView),
  stoppedBy: nullable(oneOf(Object.values(StoppedBy))),
  stopReason: nullable(untrustedText),
  ticket: withDefault(nullable(ticket), null),
  notBefore: withDefault(nullable(isoTime), null),
  allowedEngineers: withDefault(nullable(arrayOf(engineerName)), null),
  allowedPorts: withDefault(allowedPorts, []),
});

/** GET /v1/device/tunnel and the device's other answers: what deviceTunnelViewSchema accepts. */
export function checkDeviceTunnelView(value: unknown, what = "response"): DeviceTunnelView {
  return runCheck(deviceTunnelView, value, what);
}
