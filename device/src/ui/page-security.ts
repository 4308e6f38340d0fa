// The consent page's defences against other web pages and other people: sessions
// with a CSRF token bound to their cookie, the same-origin check, a limit on
// password guesses, and the headers that keep the page out of frames and scripts
// out of the page. Each defence is a small function the server applies in order.
import { timingSafeEqual } from "node:crypto";
import type { RandomBytes } from "@support-tunnel/common";

export const SESSION_COOKIE = "st_consent_session";
/** The header that carries the CSRF token on every POST and DELETE. */
export const CSRF_HEADER = "x-csrf-token";

export interface PageSession {
  readonly id: string;
  readonly csrfToken: string;
  authenticated: boolean;
  lastUsed: number;
}

export interface PageSessionsOptions {
  now: () => number;
  random: RandomBytes;
  /** A session unused this long is forgotten. */
  idleMs?: number;
  /** Sessions kept at most; the oldest go first (anyone can make one). */
  max?: number;
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** The page's sessions, in memory: a restart logs everyone out, which is what a kill switch wants. */
export class PageSessions {
  private readonly sessions = new Map<string, PageSession>();
  private readonly idleMs: number;
  private readonly max: number;

  constructor(private readonly options: PageSessionsOptions) {
    this.idleMs = options.idleMs ?? 12 * 3600_000;
    this.max = options.max ?? 1000;
  }

  private token(): string {
    return Buffer.from(this.options.random(32)).toString("base64url");
  }

  /** The live session the request's cookie names, or null. */
  fromCookie(cookieHeader: string | undefined): PageSession | null {
    const id = cookieValue(cookieHeader, SESSION_COOKIE);
    if (id === null || !TOKEN.test(id)) return null;
    const session = this.sessions.get(id);
    if (!session) return null;
    const now = this.options.now();
    if (now - session.lastUsed > this.idleMs) {
      this.sessions.delete(id);
      return null;
    }
    session.lastUsed = now;
    return session;
  }

  create(authenticated: boolean): PageSession {
    const now = this.options.now();
    if (this.sessions.size >= this.max) {
      for (const [id, s] of this.sessions)
        if (now - s.lastUsed > this.idleMs) this.sessions.delete(id);
      while (this.sessions.size >= this.max)
        this.sessions.delete(this.sessions.keys().next().value!);
    }
    const session: PageSession = {
      id: this.token(),
      csrfToken: this.token(),
      authenticated,
      lastUsed: now,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** A new id and token after a login, so a session someone planted before it is worth nothing. */
  renew(old: PageSession, authenticated: boolean): PageSession {
    this.sessions.delete(old.id);
    return this.create(authenticated);
  }

  end(session: PageSession): void {
    this.sessions.delete(session.id);
  }
}

/** The CSRF token sent matches the session's; compared in constant time. */
export function csrfMatches(session: PageSession, sent: string | string[] | undefined): boolean {
  if (typeof sent !== "string" || !TOKEN.test(sent)) return false;
  return timingSafeEqual(Buffer.from(sent), Buffer.from(session.csrfToken));
}

/**
 * HttpOnly: no script reads it. SameSite=Strict: no other site's page makes the
 * browser send it. No Secure flag: the page is plain http on loopback.
 */
export function sessionCookie(session: PageSession): string {
  return `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Strict`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * A state-changing request must come from the page itself: its Origin is exactly
 * `http://<the Host it was sent to>` (the Host already checked against the page's
 * own names). Browsers send Origin with every POST and DELETE; a request without
 * one is refused, and so is one a browser marks as coming from another site.
 */
export function isSameOrigin(
  origin: string | undefined,
  host: string,
  fetchSite: string | undefined,
): boolean {
  if (fetchSite !== undefined && fetchSite !== "same-origin") return false;
  if (origin === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return url.protocol === "http:" && url.origin === new URL(`http://${host}`).origin;
}

/** At most `maxFailures` wrong passwords per window, for everyone together: guessing stays slow. */
export class LoginThrottle {
  private failures: number[] = [];
  constructor(
    private readonly now: () => number,
    private readonly maxFailures = 5,
    private readonly windowMs = 60_000,
  ) {}

  /** Milliseconds until another try is allowed; 0 when it is now. */
  waitMs(): number {
    const now = this.now();
    this.failures = this.failures.filter((at) => now - at < this.windowMs);
    if (this.failures.length < this.maxFailures) return 0;
    return this.windowMs - (now - this.failures[0]!);
  }

  failed(): void {
    this.failures.push(this.now());
  }
}

/** Every answer's headers: no framing, no inline or foreign scripts, no sniffing, no referrer, no caching. */
export function securityHeaders(options: { wasm?: boolean } = {}): Record<string, string> {
  // The replay page's player runs WebAssembly; 'wasm-unsafe-eval' lets it compile
  // that and nothing else (no eval of JavaScript), and only on that page.
  const scripts = options.wasm ? "; script-src 'self' 'wasm-unsafe-eval'" : "";
  return {
    "Content-Security-Policy": `default-src 'self'${scripts}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'`,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
  };
}
