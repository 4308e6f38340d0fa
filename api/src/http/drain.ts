// Stopping the HTTP server without hanging and without cutting answers off:
// once draining, every answer (those held by long-polls included) carries
// `Connection: close`, so a client that polls in a loop on a keep-alive
// connection is let go after its answer instead of being served forever; the
// listener is closed, idle connections are closed at once, and whatever is
// still open after the grace period is destroyed.
import type { Server, ServerResponse } from "node:http";
import type { NextFunction, Request, Response } from "express";

export interface DrainResult {
  /** Connections still open at the end of the grace period, destroyed. */
  forced: boolean;
}

export class HttpDrain {
  private draining = false;
  /** Answers not sent yet: their headers must learn that the connection will close. */
  private readonly unanswered = new Set<ServerResponse>();

  /** Express middleware, early in line. */
  readonly middleware = (_req: Request, res: Response, next: NextFunction): void => {
    this.track(res);
    next();
  };

  /** An answer begun: it will say `Connection: close` if the drain starts before it is sent. */
  track(res: ServerResponse): void {
    if (this.draining) {
      res.setHeader("Connection", "close");
    } else {
      this.unanswered.add(res);
      res.once("close", () => this.unanswered.delete(res));
    }
  }

  /**
   * As track(), for a caller that listens to the response's `close` itself and
   * calls untrack() from there (one listener per held long-poll, not one each).
   */
  trackUntilTold(res: ServerResponse): void {
    if (this.draining) res.setHeader("Connection", "close");
    else this.unanswered.add(res);
  }

  untrack(res: ServerResponse): void {
    this.unanswered.delete(res);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Closes `server`: no new connections, idle ones closed now, busy ones after
   * their answer, and any left after `graceMs` destroyed. Call it after waking
   * what holds answers back (the long-polls), or it takes the whole grace period.
   */
  async drain(server: Server, graceMs: number): Promise<DrainResult> {
    this.draining = true;
    for (const res of this.unanswered) {
      if (!res.headersSent) res.setHeader("Connection", "close");
    }
    this.unanswered.clear();
    // server.close() also closes the connections idle right now (Node ≥ 19).
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const forced = await Promise.race([
      closed.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (forced) {
      server.closeAllConnections();
      await closed;
    }
    return { forced };
  }
}
