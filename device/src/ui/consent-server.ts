// The consent page's HTTP server (node:http, no framework): the page, its files,
// and the JSON routes under /api/. Every request passes the same gates in order
// (Host, then login, then Origin and CSRF token for anything that changes state,
// then a size-limited, validated body) before a route makes one services call.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import {
  ApiError,
  ApiUnreachableError,
  parseWire,
  ValidationError,
  type RandomBytes,
} from "@support-tunnel/common";
import { DeviceError, ExitCode, UsageError } from "../errors";
import type { ErrorBody, PageSessionInfo } from "./consent-api";
import {
  CONSENT_CHOICES,
  consentRequestSchema,
  type ConsentPageServices,
} from "./consent-services";
import { allowedHosts, type ListenAddress } from "./listen-address";
import { loadPageAssets, type PageAsset } from "./page-assets";
import {
  clearedSessionCookie,
  CSRF_HEADER,
  csrfMatches,
  isSameOrigin,
  LoginThrottle,
  PageSessions,
  securityHeaders,
  sessionCookie,
  type PageSession,
} from "./page-security";
import { verifyPassword } from "./password";

/** Bodies are a few fields; anything bigger is not the page talking. */
export const MAX_BODY_BYTES = 16 * 1024;

export interface ConsentServerOptions {
  services: ConsentPageServices;
  listen: ListenAddress;
  /** The scrypt hash from the config file: when set, the page asks for the password. */
  passwordHash?: string;
  /** More Host names the page answers to (a DNS name the device is reached by). */
  hostNames?: readonly string[];
  deviceName: string;
  log: (message: string) => void;
  now?: () => number;
  random?: RandomBytes;
  /** For specs: where the page's compiled scripts are. */
  scriptsDir?: string;
}

export interface RunningConsentServer {
  /** `http://127.0.0.1:7480/`, with the port actually bound. */
  url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

interface RouteContext {
  session: PageSession | null;
  params: string[];
  body: unknown;
}

interface Reply {
  status?: number;
  json?: unknown;
  text?: { contentType: string; body: string };
  cookie?: string;
}

interface Route {
  method: "GET" | "POST" | "DELETE";
  path: RegExp;
  /** The route works without login (the session and login routes themselves). */
  open?: boolean;
  /** The route reads a JSON body. */
  body?: boolean;
  handle(ctx: RouteContext): Promise<Reply>;
}

const TUNNEL_ID = "([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})";
const SESSION_ID = "([A-Za-z0-9._:-]{1,128})";
const loginSchema = z.object({ password: z.string().min(1, "is required").max(1024) }).strict();

/**
 * Starts serving. Refuses (exit 2) an address beyond loopback without a password:
 * anyone who can reach it could otherwise let support in, or throw it out.
 */
export async function startConsentServer(
  options: ConsentServerOptions,
): Promise<RunningConsentServer> {
  if (!options.listen.loopback && !options.passwordHash) {
    throw new UsageError(
      `refusing to serve the consent page on ${options.listen.host}, beyond this machine, without a password: set ui.passwordHash in the config file (support-device ui --hash-password), or listen on 127.0.0.1`,
    );
  }
  const now = options.now ?? Date.now;
  const random = options.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
  const { assets, replay } = loadPageAssets(options.scriptsDir);
  const sessions = new PageSessions({ now, random });
  const throttle = new LoginThrottle(now);
  const loginRequired = options.passwordHash !== undefined;
  const { services } = options;
  let hosts = new Set<string>();

  const sessionInfo = (session: PageSession): PageSessionInfo => ({
    csrfToken: session.csrfToken,
    loginRequired,
    authenticated: session.authenticated,
    deviceName: options.deviceName,
    choices: [...CONSENT_CHOICES],
    features: {
      timeline: services.timeline !== undefined,
      sessions: services.sessions !== undefined,
      replay: replay && services.cast !== undefined,
    },
  });

  const found = <T>(value: T | null, what: string): T => {
    if (value === null) throw new HttpError(404, `${what} not found on this device`);
    return value;
  };
  const recorded = (provider: unknown): void => {
    if (provider === undefined)
      throw new HttpError(404, "this device keeps no session record to show");
  };

  const routes: Route[] = [
    {
      method: "GET",
      path: /^\/api\/session$/,
      open: true,
      handle: async ({ session }) => {
        if (session) return { json: sessionInfo(session) };
        const fresh = sessions.create(!loginRequired);
        return { json: sessionInfo(fresh), cookie: sessionCookie(fresh) };
      },
    },
    {
      method: "POST",
      path: /^\/api\/login$/,
      open: true,
      body: true,
      handle: async ({ session, body }) => {
        const { password } = parseWire(loginSchema, body);
        const waitMs = throttle.waitMs();
        if (waitMs > 0)
          throw new HttpError(
            429,
            `too many wrong passwords; try again in ${Math.ceil(waitMs / 1000)} s`,
          );
        if (!loginRequired || !(await verifyPassword(password, options.passwordHash!))) {
          throttle.failed();
          throw new HttpError(401, "wrong password", "password");
        }
        const fresh = sessions.renew(session!, true);
        return { json: sessionInfo(fresh), cookie: sessionCookie(fresh) };
      },
    },
    {
      method: "POST",
      path: /^\/api\/logout$/,
      open: true,
      handle: async ({ session }) => {
        sessions.end(session!);
        return { status: 204, cookie: clearedSessionCookie() };
      },
    },
    {
      method: "GET",
      path: /^\/api\/tunnels$/,
      handle: async () => ({ json: { tunnels: await services.list() } }),
    },
    {
      method: "POST",
      path: /^\/api\/tunnels$/,
      body: true,
      handle: async ({ body }) => ({
        status: 201,
        json: await services.request(parseWire(consentRequestSchema, body)),
      }),
    },
    {
      method: "GET",
      path: new RegExp(`^/api/tunnels/${TUNNEL_ID}$`),
      handle: async ({ params }) => ({
        json: found(await services.status(params[0]!), `tunnel ${params[0]}`),
      }),
    },
    {
      method: "DELETE",
      path: new RegExp(`^/api/tunnels/${TUNNEL_ID}$`),
      handle: async ({ params }) => ({ json: await services.stop(params[0]!) }),
    },
    {
      method: "GET",
      path: new RegExp(`^/api/tunnels/${TUNNEL_ID}/timeline$`),
      handle: async ({ params }) => {
        recorded(services.timeline);
        const entries = await services.timeline!(params[0]!);
        return { json: { entries: found(entries, `a record of tunnel ${params[0]}`) } };
      },
    },
    {
      method: "GET",
      path: new RegExp(`^/api/tunnels/${TUNNEL_ID}/sessions$`),
      handle: async ({ params }) => {
        recorded(services.sessions);
        const list = await services.sessions!(params[0]!);
        return { json: { sessions: found(list, `a record of tunnel ${params[0]}`) } };
      },
    },
    {
      method: "GET",
      path: new RegExp(`^/api/sessions/${SESSION_ID}/cast$`),
      handle: async ({ params }) => {
        recorded(services.cast);
        const cast = await services.cast!(params[0]!);
        return {
          text: {
            contentType: "application/x-asciicast; charset=utf-8",
            body: found(cast, `session ${params[0]}`),
          },
        };
      },
    },
  ];

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.log(`consent page: ${req.method} ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent) send(res, errorReply(500, "internal error"));
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://page.invalid");
    try {
      // DNS rebinding: a foreign name that resolves here still carries its own Host.
      const host = (req.headers.host ?? "").toLowerCase();
      if (!hosts.has(host)) throw new HttpError(403, "unknown host name", "host");
      const asset = method === "GET" ? assets.get(url.pathname) : undefined;
      if (asset) return sendAsset(res, asset, url.pathname === "/replay");
      const matching = routes.filter((r) => r.path.test(url.pathname));
      if (matching.length === 0) throw new HttpError(404, `no such page: ${url.pathname}`);
      const route = matching.find((r) => r.method === method);
      if (!route) {
        res.setHeader("Allow", matching.map((r) => r.method).join(", "));
        throw new HttpError(405, `${method} is not allowed on ${url.pathname}`);
      }
      const session = sessions.fromCookie(req.headers.cookie);
      if (method !== "GET") {
        // Another site's page can make the browser send a POST; it cannot make
        // it send this origin, nor read the token that only this origin gets.
        if (!isSameOrigin(req.headers.origin, host, header(req, "sec-fetch-site")))
          throw new HttpError(403, "the request does not come from this page", "origin");
        if (!session || !csrfMatches(session, req.headers[CSRF_HEADER]))
          throw new HttpError(
            403,
            "missing or wrong CSRF token: get one from GET /api/session",
            CSRF_HEADER,
          );
      }
      if (!route.open && loginRequired && !session?.authenticated)
        throw new HttpError(401, "sign in first: POST /api/login");
      const body = route.body ? await readJsonBody(req) : undefined;
      const match = route.path.exec(url.pathname)!;
      send(res, await route.handle({ session, params: match.slice(1), body }));
    } catch (err) {
      if (req.readableEnded === false) req.resume();
      send(res, replyForError(err, options.log));
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new DeviceError(
          `cannot serve the consent page on ${hostPort(options.listen.host, options.listen.port)}: ${err.code ?? err.message}`,
        ),
      ),
    );
    server.listen({ host: options.listen.host, port: options.listen.port }, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(options.listen, port, options.hostNames);
  const shownHost =
    options.listen.host === "0.0.0.0" || options.listen.host === "::"
      ? "localhost"
      : options.listen.host;
  return {
    url: `http://${hostPort(shownHost, port)}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  const type = header(req, "content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type))
    throw new HttpError(415, "body: must be application/json", "body");
  const declared = Number(header(req, "content-length") ?? NaN);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, "body: is not valid JSON", "body");
  }
}

function tooLarge(): HttpError {
  return new HttpError(413, `body: too large (at most ${MAX_BODY_BYTES} bytes)`, "body");
}

function errorReply(status: number, message: string, field?: string): Reply {
  const body: ErrorBody = { statusCode: status, message, ...(field ? { field } : {}) };
  return { status, json: body };
}

/** Errors to answers: the page shows the message, so it says what went wrong and never a secret. */
function replyForError(err: unknown, log: (message: string) => void): Reply {
  if (err instanceof HttpError) return errorReply(err.status, err.message, err.field);
  if (err instanceof ValidationError) return errorReply(400, err.message, err.field);
  if (err instanceof ApiUnreachableError)
    return errorReply(502, `the support service cannot be reached: ${err.message}`);
  if (err instanceof ApiError)
    return errorReply(502, `the support service refused: ${err.message}`);
  if (err instanceof DeviceError) {
    const status =
      {
        [ExitCode.Usage]: 400,
        [ExitCode.Refused]: 403,
        [ExitCode.Conflict]: 409,
        [ExitCode.NotFound]: 404,
        [ExitCode.Unreachable]: 502,
      }[err.exitCode as number] ?? 500;
    return errorReply(status, err.message);
  }
  log(`consent page: ${(err as Error).stack ?? String(err)}`);
  return errorReply(500, "internal error");
}

function send(res: http.ServerResponse, reply: Reply): void {
  const status = reply.status ?? 200;
  for (const [name, value] of Object.entries(securityHeaders())) res.setHeader(name, value);
  if (reply.cookie) res.setHeader("Set-Cookie", reply.cookie);
  if (reply.text) {
    res.writeHead(status, { "Content-Type": reply.text.contentType });
    res.end(reply.text.body);
  } else if (reply.json !== undefined) {
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
    res.end(JSON.stringify(reply.json));
  } else {
    res.writeHead(status);
    res.end();
  }
}

function sendAsset(res: http.ServerResponse, asset: PageAsset, wasm: boolean): void {
  for (const [name, value] of Object.entries(securityHeaders({ wasm }))) res.setHeader(name, value);
  res.writeHead(200, { "Content-Type": asset.contentType, "Content-Length": asset.body.length });
  res.end(asset.body);
}
