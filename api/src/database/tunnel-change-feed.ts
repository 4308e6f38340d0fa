// Tunnel state changes as they commit, from every replica: the repository sends
// `pg_notify(TUNNEL_CHANGED_CHANNEL, '<id>:<rank>')` in the transaction of each
// change, so the notification goes out exactly when (and only if) the change
// commits, and this feed hears it through LISTEN: on PostgreSQL one dedicated
// connection per replica, on the embedded PGlite its in-process listen.
import { Client } from "pg";
import type { DataSource } from "typeorm";
import type { DatabaseConfig } from "./database";
import type { DatabaseEventLog } from "./pglite-driver";

export const TUNNEL_CHANGED_CHANNEL = "support_tunnel_changed";

export interface TunnelChange {
  tunnelId: string;
  /** The state rank the tunnel changed to. */
  rank: number;
}

export interface TunnelChangeHandlers {
  changed(change: TunnelChange): void;
  /** Notifications may have been missed (the listening connection was lost): re-read. */
  resync(): void;
}

export interface TunnelChangeFeed {
  start(handlers: TunnelChangeHandlers): Promise<void>;
  close(): Promise<void>;
}

/** The Nest token of the replica's feed (provided by DatabaseModule). */
export const TUNNEL_CHANGE_FEED = Symbol("TunnelChangeFeed");

/** The payload the repository sends. */
export function tunnelChangePayload(tunnelId: string, rank: number): string {
  return `${tunnelId}:${rank}`;
}

export function parseTunnelChange(payload: string | undefined): TunnelChange | null {
  const match = /^([0-9a-f-]{36}):(\d{1,4})$/.exec(payload ?? "");
  return match ? { tunnelId: match[1]!, rank: Number(match[2]) } : null;
}

/**
 * PostgreSQL: one connection of its own, LISTENing. When it is lost (a
 * database restart, a network cut) it reconnects with growing pauses and then
 * asks for a resync, since notifications sent meanwhile are gone.
 */
export class PostgresTunnelChangeFeed implements TunnelChangeFeed {
  private client: Client | null = null;
  private handlers: TunnelChangeHandlers | null = null;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = 0;

  constructor(
    private readonly databaseUrl: string,
    private readonly log: DatabaseEventLog,
  ) {}

  async start(handlers: TunnelChangeHandlers): Promise<void> {
    this.handlers = handlers;
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.databaseUrl,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      application_name: "support-api listen",
    });
    const onLost = (err?: Error) => {
      // Errors while connecting reject connect() below; only a live listener is "lost".
      if (this.client !== client) return;
      this.client = null;
      this.dispose(client);
      if (this.closed) return;
      this.log("warn", "lost the connection listening for tunnel changes; reconnecting", {
        err: err?.message,
      });
      this.scheduleReconnect();
    };
    client.on("error", onLost);
    client.on("end", () => onLost());
    client.on("notification", (message) => {
      if (message.channel !== TUNNEL_CHANGED_CHANNEL) return;
      const change = parseTunnelChange(message.payload);
      if (change) this.handlers?.changed(change);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${TUNNEL_CHANGED_CHANNEL}`);
    } catch (err) {
      this.dispose(client);
      throw err;
    }
    if (this.closed) this.dispose(client);
    else this.client = client;
  }

  private dispose(client: Client): void {
    client.removeAllListeners();
    // A late error from a connection given up must not crash the process.
    client.on("error", () => undefined);
    client.end().catch(() => undefined);
  }

  private scheduleReconnect(): void {
    this.retryMs = Math.min(Math.max(this.retryMs * 2, 500), 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect().then(
        () => {
          this.retryMs = 0;
          this.log("info", "listening for tunnel changes again");
          this.handlers?.resync();
        },
        () => {
          if (!this.closed) this.scheduleReconnect();
        },
      );
    }, this.retryMs);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners();
      client.on("error", () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}

/** What the embedded database's pool offers (see pglite-driver.ts). */
export interface ListeningPool {
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
}

/** PGlite: one process owns the database, so its in-process listen hears every change. */
export class PgliteTunnelChangeFeed implements TunnelChangeFeed {
  private unlisten: (() => Promise<void>) | null = null;

  constructor(private readonly pool: ListeningPool) {}

  async start(handlers: TunnelChangeHandlers): Promise<void> {
    this.unlisten = await this.pool.listen(TUNNEL_CHANGED_CHANNEL, (payload) => {
      const change = parseTunnelChange(payload);
      if (change) handlers.changed(change);
    });
  }

  async close(): Promise<void> {
    const unlisten = this.unlisten;
    this.unlisten = null;
    // The database may be closing already; nothing is left to hear then.
    await unlisten?.().catch(() => undefined);
  }
}

export function openTunnelChangeFeed(
  config: DatabaseConfig,
  dataSource: DataSource,
  log: DatabaseEventLog,
): TunnelChangeFeed {
  if (config.databaseUrl) return new PostgresTunnelChangeFeed(config.databaseUrl, log);
  const pool = (dataSource.driver as unknown as { master?: Partial<ListeningPool> }).master;
  if (typeof pool?.listen !== "function") {
    throw new Error("the embedded database's pool can't listen for tunnel changes");
  }
  return new PgliteTunnelChangeFeed(pool as ListeningPool);
}
