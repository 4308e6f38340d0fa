// An HTTP proxy that stands between the CLIs and the api and rewrites the api's
// answers: the lying api of the trust-model tests. JSON answers go through
// `rewrite`; everything else (long-polls included) is passed through as is.
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxiedExchange {
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  status: number;
  /** The api's answer, parsed; undefined when it was not JSON. */
  body: unknown;
}

/**
 * Returns the body to send instead (with the api's status), an `answerWith(status,
 * body)` to change the status too, or undefined to pass the api's answer through.
 */
export type RewriteAnswer = (exchange: ProxiedExchange) => unknown;

const REPLACED = Symbol("rewriting-proxy:replaced-answer");

/** A rewrite's answer with a status of its own: an api that lies with an error. */
export interface ReplacedAnswer {
  [REPLACED]: true;
  status: number;
  body: unknown;
}

export function answerWith(status: number, body: unknown): ReplacedAnswer {
  return { [REPLACED]: true, status, body };
}

function isReplacedAnswer(value: unknown): value is ReplacedAnswer {
  return typeof value === "object" && value !== null && REPLACED in value;
}

export interface RewritingProxy {
  url: string;
  /** Every exchange seen, oldest first, with the api's own (unrewritten) body. */
  exchanges: ProxiedExchange[];
  /** Swaps the rewrite rule; `undefined` passes everything through. */
  setRewrite(rewrite: RewriteAnswer | undefined): void;
  close(): Promise<void>;
}

/** The path without its query: what a rewrite rule usually matches on. */
export function pathOf(exchange: ProxiedExchange): string {
  return exchange.path.split("?")[0]!;
}

export async function startRewritingProxy(options: {
  upstream: string;
  /** Where to listen; 127.0.0.1 unless a lab host must reach it (then the lab's root address). */
  host?: string;
  rewrite?: RewriteAnswer;
}): Promise<RewritingProxy> {
  const upstream = new URL(options.upstream);
  let rewrite = options.rewrite;
  const exchanges: ProxiedExchange[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = { ...req.headers, host: upstream.host };
      const forward = http.request(
        {
          hostname: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers,
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on("data", (c: Buffer) => parts.push(c));
          answer.on("end", () => {
            const raw = Buffer.concat(parts);
            let body: unknown;
            try {
              body = raw.length ? JSON.parse(raw.toString("utf8")) : undefined;
            } catch {
              body = undefined;
            }
            const exchange: ProxiedExchange = {
              method: req.method ?? "GET",
              path: req.url ?? "/",
              status: answer.statusCode ?? 502,
              body,
            };
            exchanges.push(exchange);
            const replaced = body === undefined ? undefined : rewrite?.(exchange);
            const status = isReplacedAnswer(replaced) ? replaced.status : exchange.status;
            const replacedBody = isReplacedAnswer(replaced) ? replaced.body : replaced;
            const out =
              replacedBody === undefined ? raw : Buffer.from(JSON.stringify(replacedBody));
            const outHeaders = { ...answer.headers };
            delete outHeaders["content-length"];
            delete outHeaders["transfer-encoding"];
            if (res.destroyed) return;
            res.writeHead(status, { ...outHeaders, "content-length": out.length });
            res.end(out);
          });
        },
      );
      // A client that gives up (an aborted long-poll) ends the request upstream too.
      res.on("close", () => {
        if (!res.writableFinished) forward.destroy();
      });
      forward.on("error", (err) => {
        if (res.destroyed || res.headersSent) return;
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ statusCode: 502, message: `proxy: ${err.message}` }));
      });
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, options.host ?? "127.0.0.1", resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    exchanges,
    setRewrite(next) {
      rewrite = next;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
