// The page's side of the JSON routes: reads, and changes sent with the session's
// CSRF token. A token the server no longer knows (it restarted) is fetched afresh
// and the change tried once more.
import type { ErrorBody, PageSessionInfo } from "../consent-api.js";

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

async function failureOf(res: Response): Promise<ApiFailure> {
  try {
    const body = (await res.json()) as ErrorBody;
    return new ApiFailure(res.status, body.message, body.field);
  } catch {
    return new ApiFailure(res.status, `the page's server answered ${res.status}`);
  }
}

export class PageApi {
  private session: PageSessionInfo | null = null;

  async sessionInfo(refresh = false): Promise<PageSessionInfo> {
    if (this.session && !refresh) return this.session;
    this.session = await this.get<PageSessionInfo>("/api/session");
    return this.session;
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(path, { headers: { Accept: "application/json" } });
    if (!res.ok) throw await failureOf(res);
    return (await res.json()) as T;
  }

  /** POST or DELETE with the CSRF token; `null` for an answer without a body. */
  async send<T>(method: "POST" | "DELETE", path: string, body?: unknown): Promise<T | null> {
    for (let attempt = 0; ; attempt++) {
      const { csrfToken } = await this.sessionInfo(attempt > 0);
      const res = await fetch(path, {
        method,
        headers: {
          Accept: "application/json",
          "X-CSRF-Token": csrfToken,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (res.ok) {
        if (res.status === 204) return null;
        return (await res.json()) as T;
      }
      const failure = await failureOf(res);
      if (attempt === 0 && res.status === 403 && failure.field === "x-csrf-token") continue;
      throw failure;
    }
  }

  /** A login gives a new session (and token); keep it. */
  remember(session: PageSessionInfo): void {
    this.session = session;
  }
}
