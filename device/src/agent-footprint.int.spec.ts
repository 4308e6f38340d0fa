// The waiting agent stays small: what it loads while it only waits is what runs
// on every device all day (issue 14: ≤ 45 MiB idle). zod (~12 MiB) and tweetnacl
// are loaded when a tunnel is requested or connected, never by an agent that
// waits; a stray import of common's index brings both back, which this catches.
// Nor does it run V8's compilers, whose code would stay paged in.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const DEVICE_BIN = path.resolve(__dirname, "bin.js");
/** What the systemd unit runs, with the node flags of its shebang. */
const DEVICE_LAUNCHER = path.resolve(__dirname, "..", "bin", "support-device.js");

/**
 * Preloaded into the agent: prints the files it loaded as JSON on stderr when it
 * exits, and exits on SIGTERM itself (the agent may not have its own handler yet
 * when its first line is out).
 */
const LIST_LOADED_ON_EXIT = `process.on("exit", () => process.stderr.write("LOADED " + JSON.stringify(Object.keys(require.cache)) + "\\n" + "FLAGS " + JSON.stringify(process.execArgv) + "\\n")); process.on("SIGTERM", () => process.exit(0));`;

interface WaitingAgent {
  /** The files it loaded. */
  loaded: string[];
  /** node's command-line flags. */
  execArgv: string[];
  /** What it printed on stdout: V8's traces, when asked for. */
  stdout: string;
}

/**
 * Starts the agent with no tunnel, as the unit does (the launcher) or as
 * `node dist/bin.js` with `nodeFlags`, and stops it once it waits.
 */
async function waitingAgent(
  how: { launcher: true } | { launcher: false; nodeFlags: string[] },
): Promise<WaitingAgent> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "agent-footprint-"));
  try {
    const preload = path.join(dir, "list-loaded.js");
    writeFileSync(preload, LIST_LOADED_ON_EXIT);
    writeFileSync(path.join(dir, "device.json"), "{}\n", { mode: 0o600 });
    const child = how.launcher
      ? spawn(DEVICE_LAUNCHER, ["agent"], {
          env: { ...process.env, ...agentEnv(dir), NODE_OPTIONS: `--require ${preload}` },
          stdio: ["ignore", "pipe", "pipe"],
        })
      : spawn(process.execPath, [...how.nodeFlags, "-r", preload, DEVICE_BIN, "agent"], {
          env: { ...process.env, ...agentEnv(dir) },
          stdio: ["ignore", "pipe", "pipe"],
        });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => (stdout += chunk));
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
      if (/agent watching/.test(stderr)) child.kill("SIGTERM");
    });
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    const listed = /^LOADED (.*)$/m.exec(stderr);
    const flags = /^FLAGS (.*)$/m.exec(stderr);
    assert.ok(
      listed && flags,
      `the agent exited (${code}) without listing what it loaded:\n${stderr}`,
    );
    return {
      loaded: JSON.parse(listed[1]!) as string[],
      execArgv: JSON.parse(flags[1]!) as string[],
      stdout,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function agentEnv(dir: string): NodeJS.ProcessEnv {
  return {
    SUPPORT_DEVICE_CONFIG: path.join(dir, "device.json"),
    SUPPORT_STATE_DIR: path.join(dir, "state"),
    SUPPORT_LOG_DIR: path.join(dir, "log"),
    // Nothing listens there: an agent with no tunnel never asks.
    SUPPORT_API_URL: "http://127.0.0.1:9",
  };
}

describe("the waiting device agent's footprint", function () {
  this.timeout(30_000);

  it("loads neither zod nor tweetnacl while it only waits", async () => {
    const { loaded } = await waitingAgent({ launcher: true });
    assert.ok(
      loaded.some((file) => file.endsWith(`${path.sep}agent.js`)),
      "the agent's own module is in the list",
    );
    const heavy = loaded.filter((file) => /node_modules[\\/](zod|tweetnacl)[\\/]/.test(file));
    assert.deepEqual(heavy, [], "the waiting agent loaded what only a request or connect needs");
  });

  // Their code, paged in from the node binary, stays resident: ~3.5 MiB of 45.
  it("runs without V8's compilers when started as the unit does", async () => {
    const { execArgv } = await waitingAgent({ launcher: true });
    assert.ok(execArgv.includes("--jitless"), `node's flags: ${execArgv.join(" ")}`);
  });

  it("optimizes nothing while it starts and waits, even started as `node dist/bin.js`", async () => {
    const { stdout } = await waitingAgent({ launcher: false, nodeFlags: ["--trace-opt"] });
    // Marked, not only compiled: marking is at once, the compiling in the background.
    assert.doesNotMatch(stdout, /TURBOFAN/);
  });
});
