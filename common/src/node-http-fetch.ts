// What SupportApiClient asks of fetch, over node:http(s): the transport of the
// device agent, which long-polls for days. The global fetch (undici) costs a
// process about 40 MiB (its bundle, and the WebAssembly HTTP parser it compiles
// on first use), and its timer wheel wakes the process twice a second while a
// long-poll is held; node:http does neither. Timeouts stay the client's (its signal).
import * as http from "node:http";
import type { ApiFetch, ApiFetchResponse } from "./client";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadHttps = () => require("node:https") as typeof import("node:https");

/** Statuses whose answers have no body, for which `text()` is empty as with fetch. */
const NO_BODY = new Set([101, 204, 205, 304]);

export const nodeHttpFetch: ApiFetch = (url, init) =>
  new Promise<ApiFetchResponse>((resolve, reject) => {
    // As fetch does: an aborted request rejects with the signal's reason.
    const aborted = () => init.signal.reason as Error;
    if (init.signal.aborted) return reject(aborted());
    // Like fetch's "fetch failed": the cause says what happened (ECONNREFUSED...),
    // which the client reads to tell a request never sent from one that may have landed.
    const fail = (err: Error) =>
      reject(init.signal.aborted ? aborted() : new TypeError("fetch failed", { cause: err }));
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers["content-length"] = Buffer.byteLength(init.body);
    // node:https (tls, crypto: ~3.5 MiB resident) loads only for an https api.
    const request = (url.protocol === "https:" ? loadHttps() : http).request(
      url,
      { method: init.method, headers, signal: init.signal },
      (response) => {
        const chunks: Buffer[] = [];
        let ended = false;
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", fail);
        response.on("end", () => {
          ended = true;
          const status = response.statusCode ?? 0;
          const text = NO_BODY.has(status) ? "" : Buffer.concat(chunks).toString("utf8");
          resolve({
            status,
            headers: {
              get: (name) => {
                const value = response.headers[name.toLowerCase()];
                return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
              },
            },
            text: () => Promise.resolve(text),
          });
        });
        // A connection cut mid-answer: an error, as fetch's body read would throw.
        response.on("close", () => {
          if (!ended) fail(new Error("the connection closed before the answer was complete"));
        });
      },
    );
    request.on("error", fail);
    // Redirects are never followed: node:http does not, which is what "manual" asks.
    request.end(init.body);
  });
