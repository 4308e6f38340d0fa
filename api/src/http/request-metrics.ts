// The request metrics: every answered request counted by method, route and
// status, and timed, long-polls in a histogram of their own. Shared by the
// express pipeline and the device edge (device-edge.ts), so both count alike.
import type { NextFunction, Request, Response } from "express";
import type { MetricsService } from "../services/metrics.service";

/** A long-poll (?wait=S, S > 0) waits on purpose: kept out of the latency histogram. */
export function isLongPollUrl(url: string): boolean {
  return /[?&]wait=(?!0*(&|$))/.test(url);
}

/** Seconds since `start` (a process.hrtime.bigint()). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Express middleware: observes each request when its answer has gone out. */
export function requestMetrics(metrics: MetricsService) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.on("finish", () => {
      const routePath = (req.route as { path?: string } | undefined)?.path;
      const route = routePath ? `${req.baseUrl}${routePath}` : "unmatched";
      metrics.observe(
        req.method,
        route,
        res.statusCode,
        secondsSince(start),
        isLongPollUrl(req.originalUrl),
      );
    });
    next();
  };
}
