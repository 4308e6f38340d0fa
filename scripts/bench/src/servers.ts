// The servers under measure: the real api (a child process, on PostgreSQL) and
// the floor servers of floor-server.ts.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { startApiProcess } from "@support-tunnel/lab";

export interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The api on `databaseUrl`, without request logs (the floors have none) or a rate limit in the way. */
export async function startApi(databaseUrl: string): Promise<Server> {
  const api = await startApiProcess({
    databaseUrl,
    env: { LOG_LEVEL: "warn", SUPPORT_RATE_LIMIT_PER_MINUTE: "1000000" },
  });
  return { url: api.url, pid: api.process.pid!, stop: () => api.stop() };
}

export function startFloor(
  mode: "long-poll" | "device-poll",
  databaseUrl?: string,
): Promise<Server> {
  const child = spawn(
    process.execPath,
    [path.join(__dirname, "floor-server.js"), mode, ...(databaseUrl ? [databaseUrl] : [])],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`floor server ${mode} exited (${code})`)));
    child.stdout.once("data", (chunk: Buffer) => {
      const { port } = JSON.parse(chunk.toString()) as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, pid: child.pid!, stop });
    });
  });
}
