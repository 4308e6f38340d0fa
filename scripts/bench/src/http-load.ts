// The bench's HTTP client side: keep-alive requests, and a closed-loop load of
// C concurrent connections for a fixed time.
import * as http from "node:http";

export interface Answer {
  status: number;
  body: string;
}

export function request(
  agent: http.Agent,
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
  } = {},
): Promise<Answer> {
  // Framed by its length, as the agent's fetch sends a body: node would send a
  // DELETE's body unframed (no length, not chunked), and a POST's chunked.
  const headers =
    opts.body === undefined
      ? opts.headers
      : { "content-length": String(Buffer.byteLength(opts.body)), ...opts.headers };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, method: opts.method ?? "GET", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** `connections` loops each sending `next()` back to back for `ms`; latencies of 2xx answers. */
export async function closedLoop(
  connections: number,
  ms: number,
  next: (agent: http.Agent, i: number) => Promise<Answer>,
  percentile: (values: number[], p: number) => number,
): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          const answer = await next(agent, i);
          if (answer.status >= 200 && answer.status < 300) latencies.push(performance.now() - t0);
          else errors++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return {
    requestsPerSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
  };
}
