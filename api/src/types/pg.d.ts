// The few parts of `pg` used directly (the package ships no types and @types/pg
// is not installed): by the tests, and by the api's LISTEN connection
// (database/tunnel-change-feed.ts); everything else reaches pg through TypeORM.
declare module "pg" {
  export interface QueryResult<R = Record<string, unknown>> {
    rows: R[];
    rowCount: number | null;
  }
  export interface Notification {
    processId: number;
    channel: string;
    payload?: string;
  }
  export class Client {
    constructor(config: {
      connectionString: string;
      connectionTimeoutMillis?: number;
      keepAlive?: boolean;
      application_name?: string;
    });
    connect(): Promise<void>;
    query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
    end(): Promise<void>;
    on(event: "notification", listener: (message: Notification) => void): this;
    on(event: "error", listener: (err: Error) => void): this;
    on(event: "end", listener: () => void): this;
    removeAllListeners(): this;
  }
}
