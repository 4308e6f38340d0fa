// The floors the api is measured against: bare node:http servers doing the
// same job with nothing else. Run as a child process so its memory and CPU are
// its own: `node floor-server.js long-poll` or `node floor-server.js device-poll URL`;
// prints {"port":N} once listening.
import { createHash } from "node:crypto";
import * as http from "node:http";

interface PgPool {
  query(sql: string, params: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}
type PgPoolClass = new (config: { connectionString: string; max: number }) => PgPool;

/** Holds GET /hold/:key until POST /change/:key (or 30 s), as a long-poll with its state in memory. */
function longPollServer(): http.Server {
  const held = new Map<string, Set<http.ServerResponse>>();
  let holding = 0;
  const answer = (res: http.ServerResponse, state: string) =>
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ state }));
  return http.createServer((req, res) => {
    const [, verb, key = ""] = (req.url ?? "").split("/");
    if (req.method === "GET" && verb === "hold") {
      let set = held.get(key);
      if (!set) held.set(key, (set = new Set()));
      const waiters = set;
      waiters.add(res);
      holding++;
      const done = () => {
        if (!waiters.delete(res)) return;
        holding--;
        clearTimeout(timer);
      };
      const timer = setTimeout(() => {
        done();
        answer(res, "pending");
      }, 30_000);
      res.on("close", done);
    } else if (req.method === "POST" && verb === "change") {
      for (const waiter of [...(held.get(key) ?? [])]) {
        waiter.emit("close");
        answer(waiter, "completed");
      }
      held.delete(key);
      answer(res, "completed");
    } else if (verb === "count") {
      res.end(String(holding));
    } else {
      res.writeHead(404).end();
    }
  });
}

/** GET /v1/device/tunnel: the token's hash looked up in the api's own table, as the api does. */
function devicePollServer(databaseUrl: string): http.Server {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Pool } = require("pg") as { Pool: PgPoolClass };
  const pool = new Pool({ connectionString: databaseUrl, max: 10 });
  return http.createServer((req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token) return void res.writeHead(401).end();
    const hash = createHash("sha256").update(token).digest("hex");
    pool.query("SELECT * FROM tunnels WHERE device_token_hash = $1", [hash]).then(
      ({ rows }) => {
        const row = rows[0];
        if (!row || (row.expires_at as Date).getTime() <= Date.now()) {
          return void res.writeHead(401).end();
        }
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            tunnelId: row.id,
            state: row.state,
            network: row.network,
            expiresAt: (row.expires_at as Date).toISOString(),
            server: null,
          }),
        );
      },
      () => res.writeHead(500).end(),
    );
  });
}

if (require.main === module) {
  const [mode, databaseUrl] = process.argv.slice(2);
  const server =
    mode === "long-poll"
      ? longPollServer()
      : mode === "device-poll" && databaseUrl
        ? devicePollServer(databaseUrl)
        : null;
  if (!server) {
    process.stderr.write("usage: floor-server long-poll | device-poll DATABASE_URL\n");
    process.exit(2);
  }
  server.keepAliveTimeout = 60_000;
  // The api's backlog (see api/src/commands/serve.ts): with node's 511, thousands
  // of long-polls connecting at once overflow the floor's queue, not the api's.
  server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, () => {
    const address = server.address() as { port: number };
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  });
  process.on("SIGTERM", () => process.exit(0));
}
