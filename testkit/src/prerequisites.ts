// Test prerequisites: outside CI a missing one skips the test with a one-line
// reason; with SUPPORT_TUNNEL_TEST_STRICT=1 (set by .ci/run) it fails instead,
// so CI can never go green by skipping.
import { execFileSync } from "node:child_process";
import * as net from "node:net";
import { TEST_DATABASE_URL } from "./database";

/** Read when asked, so a spec can check both modes in one process. */
export function isStrict(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.SUPPORT_TUNNEL_TEST_STRICT === "1";
}

export interface SkippableContext {
  skip(): void;
}

/** Skips (or, in strict mode, fails) the current test or suite when `missing` is not null. */
export function requirePrerequisite(
  ctx: SkippableContext,
  missing: string | null,
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (missing === null) return;
  if (isStrict(env)) throw new Error(`prerequisite missing: ${missing}`);
  console.log(`      skipped: ${missing}`);
  ctx.skip();
}

export function missingRoot(): string | null {
  return process.getuid?.() === 0 ? null : "needs root";
}

export function missingCommands(...commands: string[]): string | null {
  const missing = commands.filter((cmd) => {
    try {
      execFileSync("sh", ["-c", 'command -v "$1"', "sh", cmd], {
        stdio: "ignore",
        env: { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` },
      });
      return false;
    } catch {
      return true;
    }
  });
  return missing.length ? `needs ${missing.join(", ")} (run npm run setup as root)` : null;
}

/** Reachability of the PostgreSQL server the integration tests use. */
export async function missingPostgres(url = TEST_DATABASE_URL): Promise<string | null> {
  const { hostname, port } = new URL(url);
  const where = `${hostname}:${port || 5432}`;
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname || "127.0.0.1", port: Number(port || 5432) });
    const done = (result: string | null) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(2000, () => done(`needs PostgreSQL at ${where}`));
    socket.once("connect", () => done(null));
    socket.once("error", () => done(`needs PostgreSQL at ${where}`));
  });
}
