// Typed client for the bookkeeping api, used by the device and the engineer CLI.
// Every answer is validated against the wire schemas before a caller sees it:
// the api is not trusted to send well-formed data. Only requests that are safe
// to repeat are retried: a write whose answer was lost may have landed, and
// sending it again would make a second tunnel or be refused as a conflict.
import type { z } from "zod";
import type {
  AddMemberRequest,
  CustomerList,
  CustomerSecretResponse,
  DeviceList,
  GroupList,
  GroupView,
} from "./access";
import type { TunnelId } from "./ids";
import type {
  ApproveTunnelRequest,
  AuditList,
  AuditPage,
  CreateEngineerRequest,
  CreateEngineerResponse,
  CreateTunnelRequest,
  CreateTunnelResponse,
  DeviceTunnelView,
  EngineerList,
  ReportSessionRequest,
  TunnelList,
  TunnelView,
  Whoami,
} from "./schemas";
import type { ApprovalRefusalKind } from "./refusal";
import type { TunnelState } from "./state";
import { sanitizeText } from "./untrusted";
import { checkDeviceTunnelView } from "./wire-check";

/* eslint-disable @typescript-eslint/no-require-imports */
// The zod schemas load with the first answer that needs one. The device's own
// answers are checked by hand (wire-check.ts), so an agent that only waits on
// its long-polls never loads zod (~12 MiB resident).
const schemas = () => require("./schemas") as typeof import("./schemas");
const access = () => require("./access") as typeof import("./access");
/* eslint-enable @typescript-eslint/no-require-imports */

/** An answer checked with the zod schema `pick` names, loaded when first needed. */
function bySchema<S extends z.ZodTypeAny>(pick: () => S): (json: unknown) => z.output<S> {
  return (json) => schemas().parseWire(pick(), json, "response");
}

/** GET /v1/audit's filters and page (see auditPageSchema). */
export interface AuditQuery {
  cursor?: string;
  limit?: number;
  /** Only what this engineer did. */
  engineer?: string;
  tunnel?: TunnelId;
  /** An action (`engineer.revoke`) or a family (`engineer`). */
  action?: string;
}

/** An error answer from the api (status ≥ 400), with its message kept intact. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The api could not be reached, or did not answer in time, after every retry. */
export class ApiUnreachableError extends Error {
  override name = "ApiUnreachableError";
}

/**
 * What the client asks of fetch, and nothing more, so a lighter transport can
 * stand in for the global one (the device agent's, over node:http).
 */
export type ApiFetch = (
  url: URL,
  init: {
    method: string;
    headers: Record<string, string>;
    body: string | undefined;
    signal: AbortSignal;
    redirect: "manual";
  },
) => Promise<ApiFetchResponse>;

export interface ApiFetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export interface ApiClientOptions {
  baseUrl: string;
  token?: string;
  /** Per attempt, not counting the long-poll wait itself. Default 10 s. */
  timeoutMs?: number;
  /**
   * Extra attempts after the first, for requests safe to repeat (on 5xx, network
   * errors, timeouts) and for writes that never reached the api. Default 3.
   */
  retries?: number;
  /** First backoff delay; doubles each retry. Default 250 ms. */
  backoffMs?: number;
  fetch?: ApiFetch;
  sleep?: (ms: number) => Promise<void>;
  userAgent?: string;
  /** Headers sent with every request, e.g. the device's identity (`x-device-id`). */
  headers?: () => Promise<Record<string, string>>;
}

interface RequestOptions {
  /**
   * Safe to send again when an attempt's outcome is unknown: reads, stops, and
   * writes the api answers the same way when repeated. Default: GET only.
   */
  idempotent?: boolean;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Seconds the server may hold the request (long-poll); added to the timeout. */
  waitSeconds?: number;
  signal?: AbortSignal;
}

export class SupportApiClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly fetchImpl: ApiFetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: ApiClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new Error(`api url is not a URL: ${options.baseUrl}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error(`api url must be http or https: ${options.baseUrl}`);
    }
    this.baseUrl = url.toString().replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = options.retries ?? 3;
    this.backoffMs = options.backoffMs ?? 250;
    this.fetchImpl = options.fetch ?? fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  // ---- device -------------------------------------------------------------

  createTunnel(
    body: CreateTunnelRequest,
    enrollmentSecret?: string,
  ): Promise<CreateTunnelResponse> {
    return this.request(
      "POST",
      "/v1/device/tunnels",
      bySchema(() => schemas().createTunnelResponseSchema),
      {
        body,
        ...(enrollmentSecret ? { headers: { "x-enrollment-secret": enrollmentSecret } } : {}),
      },
    );
  }

  /** The device's own tunnel; with `waitSeconds`, returns as soon as the state differs from `since`. */
  getDeviceTunnel(
    opts: { waitSeconds?: number; since?: TunnelState; signal?: AbortSignal } = {},
  ): Promise<DeviceTunnelView> {
    return this.request("GET", "/v1/device/tunnel", checkDeviceTunnelView, {
      query: { wait: opts.waitSeconds, since: opts.since },
      waitSeconds: opts.waitSeconds,
      signal: opts.signal,
    });
  }

  /** Safe to repeat: the api answers a repeat by the same support user with the same view. */
  reportConnected(supportUser: string): Promise<DeviceTunnelView> {
    return this.request("POST", "/v1/device/tunnel/connected", checkDeviceTunnelView, {
      body: { supportUser },
      idempotent: true,
    });
  }

  /** A session of support opened or closed on the device. Safe to repeat: the api keeps the first end. */
  async reportSession(
    body: ReportSessionRequest,
    opts: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.request("POST", "/v1/device/tunnel/sessions", null, {
      body,
      idempotent: true,
      signal: opts.signal,
    });
  }

  /**
   * The device refused the approval: the api takes the tunnel back to pending and
   * tells the engineer why. Safe to repeat: a repeat finds it pending and changes nothing.
   */
  reportRefusal(kind: ApprovalRefusalKind): Promise<DeviceTunnelView> {
    return this.request("POST", "/v1/device/tunnel/refusal", checkDeviceTunnelView, {
      body: { kind },
      idempotent: true,
    });
  }

  /** Safe to repeat: stopping an ended tunnel answers with its unchanged view. */
  stopDeviceTunnel(reason?: string): Promise<DeviceTunnelView> {
    return this.request("DELETE", "/v1/device/tunnel", checkDeviceTunnelView, {
      body: reason ? { reason } : {},
      idempotent: true,
    });
  }

  // ---- engineer -----------------------------------------------------------

  /** One page of tunnels, newest first; `nextCursor` in the answer asks for the next. */
  listTunnels(
    state?: TunnelState,
    page: { cursor?: string; limit?: number; live?: boolean } = {},
  ): Promise<TunnelList> {
    return this.request(
      "GET",
      "/v1/tunnels",
      bySchema(() => schemas().tunnelListSchema),
      {
        query: {
          state,
          cursor: page.cursor,
          limit: page.limit,
          live: page.live === undefined ? undefined : page.live ? 1 : 0,
        },
      },
    );
  }

  /** Every tunnel (or every live one), following the api's pages. */
  async listAllTunnels(
    filter: { state?: TunnelState; live?: boolean; pageSize?: number } = {},
  ): Promise<TunnelList["tunnels"]> {
    const tunnels: TunnelList["tunnels"] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (;;) {
      const page = await this.listTunnels(filter.state, {
        cursor,
        limit: filter.pageSize,
        live: filter.live,
      });
      // An api that repeats its cursor would loop for ever: a cursor is used once.
      if (page.nextCursor && seen.has(page.nextCursor))
        throw new ApiError(502, "the api repeated a page cursor");
      tunnels.push(...page.tunnels);
      if (!page.nextCursor || page.tunnels.length === 0) return tunnels;
      seen.add(page.nextCursor);
      cursor = page.nextCursor;
    }
  }

  getTunnel(
    id: TunnelId,
    opts: { waitSeconds?: number; since?: TunnelState; signal?: AbortSignal } = {},
  ): Promise<TunnelView> {
    return this.request(
      "GET",
      `/v1/tunnels/${encodeURIComponent(id)}`,
      bySchema(() => schemas().tunnelViewSchema),
      {
        query: { wait: opts.waitSeconds, since: opts.since },
        waitSeconds: opts.waitSeconds,
        signal: opts.signal,
      },
    );
  }

  /**
   * Never repeated once it may have reached the api: a repeat of a landed approval
   * is a 409. A caller whose answer was lost reads the tunnel back to know.
   */
  approveTunnel(id: TunnelId, body: ApproveTunnelRequest): Promise<TunnelView> {
    return this.request(
      "POST",
      `/v1/tunnels/${encodeURIComponent(id)}/server`,
      bySchema(() => schemas().tunnelViewSchema),
      {
        body,
      },
    );
  }

  /** Safe to repeat: stopping an ended tunnel answers with its unchanged view. */
  stopTunnel(id: TunnelId, reason?: string): Promise<TunnelView> {
    return this.request(
      "DELETE",
      `/v1/tunnels/${encodeURIComponent(id)}`,
      bySchema(() => schemas().tunnelViewSchema),
      {
        body: reason ? { reason } : {},
        idempotent: true,
      },
    );
  }

  /**
   * Takes back an approval the device has not acted on (the tunnel goes back to
   * pending), only while it is this server's. Safe to repeat: a repeat finds it
   * pending and changes nothing.
   */
  withdrawApproval(id: TunnelId, instanceId: string): Promise<TunnelView> {
    return this.request(
      "DELETE",
      `/v1/tunnels/${encodeURIComponent(id)}/server`,
      bySchema(() => schemas().tunnelViewSchema),
      { body: { instanceId }, idempotent: true },
    );
  }

  getAudit(id: TunnelId): Promise<AuditList> {
    return this.request(
      "GET",
      `/v1/tunnels/${encodeURIComponent(id)}/audit`,
      bySchema(() => schemas().auditListSchema),
    );
  }

  /** Admins: one page of the whole audit log, newest first (tunnel and organization events). */
  listAudit(query: AuditQuery = {}): Promise<AuditPage> {
    return this.request(
      "GET",
      "/v1/audit",
      bySchema(() => schemas().auditPageSchema),
      {
        query: {
          cursor: query.cursor,
          limit: query.limit,
          engineer: query.engineer,
          tunnel: query.tunnel,
          action: query.action,
        },
      },
    );
  }

  /**
   * Admins: the audit log's entries, newest first, following its pages until
   * `max` entries (all of them without it).
   */
  async listAllAudit(
    query: Omit<AuditQuery, "cursor"> & { max?: number } = {},
  ): Promise<AuditPage["entries"]> {
    const entries: AuditPage["entries"] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (;;) {
      const left = query.max === undefined ? undefined : query.max - entries.length;
      const page = await this.listAudit({
        ...query,
        cursor,
        limit:
          left === undefined
            ? query.limit
            : Math.min(left, query.limit ?? schemas().MAX_AUDIT_PAGE),
      });
      // An api that repeats its cursor would loop for ever: a cursor is used once.
      if (page.nextCursor && seen.has(page.nextCursor))
        throw new ApiError(502, "the api repeated a page cursor");
      entries.push(...page.entries);
      if (query.max !== undefined && entries.length >= query.max)
        return entries.slice(0, query.max);
      if (!page.nextCursor || page.entries.length === 0) return entries;
      seen.add(page.nextCursor);
      cursor = page.nextCursor;
    }
  }

  /** Admins: every engineer, revoked ones too; never a token. */
  listEngineers(): Promise<EngineerList> {
    return this.request(
      "GET",
      "/v1/engineers",
      bySchema(() => schemas().engineerListSchema),
    );
  }

  whoami(): Promise<Whoami> {
    return this.request(
      "GET",
      "/v1/whoami",
      bySchema(() => schemas().whoamiSchema),
    );
  }

  createEngineer(body: CreateEngineerRequest): Promise<CreateEngineerResponse> {
    return this.request(
      "POST",
      "/v1/engineers",
      bySchema(() => schemas().createEngineerResponseSchema),
      { body },
    );
  }

  async revokeEngineer(name: string): Promise<void> {
    await this.request("DELETE", `/v1/engineers/${encodeURIComponent(name)}`, null);
  }

  // ---- access: customers, groups, devices ---------------------------------

  createCustomer(name: string): Promise<CustomerSecretResponse> {
    return this.request(
      "POST",
      "/v1/customers",
      bySchema(() => access().customerSecretResponseSchema),
      { body: { name } },
    );
  }

  /** Never repeated: a repeat would replace the secret again and lose the first answer's. */
  rotateCustomerSecret(name: string): Promise<CustomerSecretResponse> {
    return this.request(
      "POST",
      `/v1/customers/${encodeURIComponent(name)}/enrollment-secret`,
      bySchema(() => access().customerSecretResponseSchema),
    );
  }

  listCustomers(): Promise<CustomerList> {
    return this.request(
      "GET",
      "/v1/customers",
      bySchema(() => access().customerListSchema),
    );
  }

  createGroup(name: string): Promise<GroupView> {
    return this.request(
      "POST",
      "/v1/groups",
      bySchema(() => access().groupViewSchema),
      { body: { name } },
    );
  }

  listGroups(): Promise<GroupList> {
    return this.request(
      "GET",
      "/v1/groups",
      bySchema(() => access().groupListSchema),
    );
  }

  getGroup(name: string): Promise<GroupView> {
    return this.request(
      "GET",
      `/v1/groups/${encodeURIComponent(name)}`,
      bySchema(() => access().groupViewSchema),
    );
  }

  /** Safe to repeat: adding the same member with the same role again changes nothing more. */
  addGroupMember(group: string, body: AddMemberRequest): Promise<GroupView> {
    return this.request(
      "POST",
      `/v1/groups/${encodeURIComponent(group)}/members`,
      bySchema(() => access().groupViewSchema),
      {
        body,
        idempotent: true,
      },
    );
  }

  removeGroupMember(group: string, engineer: string): Promise<GroupView> {
    return this.request(
      "DELETE",
      `/v1/groups/${encodeURIComponent(group)}/members/${encodeURIComponent(engineer)}`,
      bySchema(() => access().groupViewSchema),
    );
  }

  /** Safe to repeat: a group already serving the customer answers the same. */
  addGroupCustomer(group: string, customer: string): Promise<GroupView> {
    return this.request(
      "POST",
      `/v1/groups/${encodeURIComponent(group)}/customers`,
      bySchema(() => access().groupViewSchema),
      { body: { customer }, idempotent: true },
    );
  }

  removeGroupCustomer(group: string, customer: string): Promise<GroupView> {
    return this.request(
      "DELETE",
      `/v1/groups/${encodeURIComponent(group)}/customers/${encodeURIComponent(customer)}`,
      bySchema(() => access().groupViewSchema),
    );
  }

  listDevices(customer?: string): Promise<DeviceList> {
    return this.request(
      "GET",
      "/v1/devices",
      bySchema(() => access().deviceListSchema),
      { query: { customer } },
    );
  }

  // ---- transport ------------------------------------------------------------

  private async request<T>(
    method: string,
    path: string,
    check: (json: unknown) => T,
    opts?: RequestOptions & { headers?: Record<string, string> },
  ): Promise<T>;
  private async request(
    method: string,
    path: string,
    check: null,
    opts?: RequestOptions,
  ): Promise<unknown>;
  private async request(
    method: string,
    path: string,
    check: ((json: unknown) => unknown) | null,
    opts: RequestOptions & { headers?: Record<string, string> } = {},
  ): Promise<unknown> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(opts.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      accept: "application/json",
      ...(await this.options.headers?.()),
      ...opts.headers,
    };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (this.options.userAgent) headers["user-agent"] = this.options.userAgent;
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    const timeoutMs = this.timeoutMs + (opts.waitSeconds ?? 0) * 1000;
    const idempotent = opts.idempotent ?? method === "GET";

    let lastError: Error = new ApiUnreachableError(`api at ${this.baseUrl} unreachable`);
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await this.sleep(this.backoffMs * 2 ** (attempt - 1));
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error("aborted");
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      let response: ApiFetchResponse;
      let text: string;
      try {
        response = await this.fetchImpl(url, {
          method,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal,
          // A redirect would carry the bearer token to wherever the api points: never follow one.
          redirect: "manual",
        });
        // The body is read under the same timeout: a server that stalls mid-answer is unreachable too.
        text = await response.text();
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? err;
        const why = timeout.aborted ? `timed out after ${timeoutMs} ms` : networkReason(err);
        if (!idempotent && !neverSent(err, timeout)) {
          throw new ApiUnreachableError(
            `api at ${this.baseUrl} unreachable: ${why}; ${method} ${path} may have reached it, so it was not repeated`,
          );
        }
        lastError = new ApiUnreachableError(`api at ${this.baseUrl} unreachable: ${why}`);
        continue;
      }
      let json: unknown = undefined;
      if (text) {
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
      }
      if (response.status >= 500) {
        // The api got the request: a write may have been done before the error.
        if (!idempotent) throw toApiError(response.status, json, text);
        lastError = toApiError(response.status, json, text);
        continue;
      }
      if (response.status >= 300 && response.status < 400) {
        const location = sanitizeText(response.headers.get("location") ?? "elsewhere");
        throw new ApiError(
          response.status,
          `api at ${this.baseUrl} redirected ${method} ${path} to ${location}; set the api url to where the api really is`,
        );
      }
      if (response.status >= 400) throw toApiError(response.status, json, text);
      if (check === null) return json;
      try {
        return check(json);
      } catch (err) {
        throw new ApiError(
          response.status,
          `api answered ${method} ${path} with an invalid body: ${sanitizeText((err as Error).message)}`,
        );
      }
    }
    throw lastError;
  }
}

/**
 * Failures of the connection itself, before a byte of the request was sent: the
 * only ones after which a write is provably not done and may be sent again.
 */
const CONNECT_FAILURES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

function neverSent(err: unknown, timeout: AbortSignal): boolean {
  if (timeout.aborted) return false;
  const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof code === "string" && CONNECT_FAILURES.has(code);
}

/** Why fetch failed: its own message is "fetch failed", the cause says what happened. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The api's own message when it sent one (`{message, field?}`; a list of messages,
 * as Nest's validation pipe sends, is joined), else the status and the start of the body.
 */
function toApiError(status: number, json: unknown, text: string): ApiError {
  const parsed = schemas().apiErrorBodySchema.safeParse(json);
  if (parsed.success) {
    // The schema has made message and field safe to print.
    return new ApiError(status, parsed.data.message, parsed.data.field);
  }
  const body = json as { message?: unknown; field?: unknown } | null | undefined;
  const message =
    typeof body?.message === "string"
      ? body.message
      : Array.isArray(body?.message) && body.message.every((m) => typeof m === "string")
        ? body.message.join("; ")
        : undefined;
  if (message) {
    const field = typeof body?.field === "string" ? sanitizeText(body.field) : undefined;
    return new ApiError(status, sanitizeText(message), field);
  }
  const snippet = sanitizeText(text.slice(0, 200)).trim();
  return new ApiError(status, `api answered ${status}${snippet ? `: ${snippet}` : ""}`);
}
