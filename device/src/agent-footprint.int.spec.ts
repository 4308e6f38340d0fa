// The waiting agent stays small: what it loads while it only waits is what runs
// on every device all day (issue 14: ≤ 45 MiB idle). zod (~12 MiB) and tweetnacl
// are loaded when a tunnel is requested or connected, never by an agent that
// waits; a stray import of common's index brings both back, which this catches.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const DEVICE_BIN = path.resolve(__dirname, "bin.js");

/**
 * Preloaded into the agent: prints the files it loaded as JSON on stderr when it
 * exits, and exits on SIGTERM itself (the agent may not have its own handler yet
 * when its first line is out).
 */
const LIST_LOADED_ON_EXIT = `process.on("exit", () => process.stderr.write("LOADED " + JSON.stringify(Object.keys(require.cache)) + "\\n")); process.on("SIGTERM", () => process.exit(0));`;

async function filesLoadedByWaitingAgent(): Promise<string[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "agent-footprint-"));
  try {
    const preload = path.join(dir, "list-loaded.js");
    writeFileSync(preload, LIST_LOADED_ON_EXIT);
    writeFileSync(path.join(dir, "device.json"), "{}\n", { mode: 0o600 });
    const child = spawn(process.execPath, ["-r", preload, DEVICE_BIN, "agent"], {
      env: {
        ...process.env,
        SUPPORT_DEVICE_CONFIG: path.join(dir, "device.json"),
        SUPPORT_STATE_DIR: path.join(dir, "state"),
        SUPPORT_LOG_DIR: path.join(dir, "log"),
        // Nothing listens there: an agent with no tunnel never asks.
        SUPPORT_API_URL: "http://127.0.0.1:9",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
      if (/agent watching/.test(stderr)) child.kill("SIGTERM");
    });
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    const listed = /^LOADED (.*)$/m.exec(stderr);
    assert.ok(listed, `the agent exited (${code}) without listing what it loaded:\n${stderr}`);
    return JSON.parse(listed[1]!) as string[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the waiting device agent's footprint", function () {
  this.timeout(30_000);

  it("loads neither zod nor tweetnacl while it only waits", async () => {
    const loaded = await filesLoadedByWaitingAgent();
    assert.ok(
      loaded.some((file) => file.endsWith(`${path.sep}agent.js`)),
      "the agent's own module is in the list",
    );
    const heavy = loaded.filter((file) => /node_modules[\\/](zod|tweetnacl)[\\/]/.test(file));
    assert.deepEqual(heavy, [], "the waiting agent loaded what only a request or connect needs");
  });
});
