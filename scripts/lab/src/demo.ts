// `npm run demo`: the whole flow for real on one machine. A lab with a device
// behind NAT, the api on its embedded database, the device agent, then the
// engineer's `support create --provider netns`, two commands as root on the
// device, and `support stop`, showing that nothing is left behind but the
// customer's record of what support did (`support-device log` and `replay`).
// Torn down on success, failure and Ctrl-C; exits non-zero on any failure.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { interfaceName } from "@support-tunnel/common";
import { waitFor } from "@support-tunnel/testkit";
import { execa, type ResultPromise } from "execa";
import { REPO_ROOT, startApiProcess, type ApiProcess } from "./api-process";
import type { LabHost } from "./host";
import { cleanupLeftoverLabs, createLab, type Lab } from "./lab";
import { missingLab } from "./prerequisites";

export const SUPPORT_BIN = path.join(REPO_ROOT, "admin", "dist", "bin.js");
export const DEVICE_BIN = path.join(REPO_ROOT, "device", "dist", "bin.js");
/** What the systemd unit runs: the agent starts through it, with the node flags of its shebang. */
const DEVICE_LAUNCHER = path.join(REPO_ROOT, "device", "bin", "support-device.js");

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A lab with the api, a device host running the agent, and a logged-in engineer. */
export class DemoWorld {
  private agents: ResultPromise[] = [];
  /** Distinct uid blocks per device host, from a random start (other labs may run at once). */
  private constructor(
    readonly lab: Lab,
    readonly api: ApiProcess,
    readonly tmp: string,
    readonly configPath: string,
    /** Removes `tmp`; also an exit handler until stop(), so worlds in one process do not pile up handlers. */
    private readonly removeTmp: () => void,
  ) {}

  static async start(log: (line: string) => void = () => {}): Promise<DemoWorld> {
    const removed = await cleanupLeftoverLabs();
    if (removed.length) log(`removed leftover labs: ${removed.join(", ")}`);
    const lab = await createLab({ name: `demo${randomBytes(2).toString("hex")}` });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "support-demo-"));
    // Ctrl-C: the lab's own handler tears the lab down and exits; this removes our temp files.
    const removeTmp = () => fs.rmSync(tmp, { recursive: true, force: true });
    process.once("exit", removeTmp);
    let api: ApiProcess | null = null;
    try {
      log(`lab ${lab.name}: internet segment ${lab.internetCidr}`);
      const token = `ste_${randomBytes(32).toString("base64url")}`;
      api = await startApiProcess({
        host: lab.rootAddress,
        dataDir: path.join(tmp, "api-data"),
        env: { SUPPORT_BOOTSTRAP_TOKEN: token },
      });
      log(`api listening at ${api.url} (embedded PGlite in ${path.join(tmp, "api-data")})`);
      const world = new DemoWorld(
        lab,
        api,
        tmp,
        path.join(tmp, "engineer", "admin.json"),
        removeTmp,
      );
      // The token goes on stdin, never in argv where `ps` would see it.
      const login = await world.support(
        [
          "login",
          "--api",
          api.url,
          "--with-token",
          "--identity",
          path.join(tmp, "engineer", "id_ed25519"),
          "--lab",
          lab.name,
        ],
        {
          input: `${token}
`,
        },
      );
      if (login.exitCode !== 0) throw new Error(`support login failed: ${login.stderr}`);
      // `create` has no default provider: the lab's engineer names it once, as a
      // real one would name gcp.
      const provider = await world.support(["config", "set", "provider", "netns"]);
      if (provider.exitCode !== 0)
        throw new Error(`support config set provider failed: ${provider.stderr}`);
      return world;
    } catch (err) {
      await api?.stop();
      await lab.destroy();
      process.off("exit", removeTmp);
      removeTmp();
      throw err;
    }
  }

  /** A device host behind its own NAT, with sshd running and the agent started. */
  async addDevice(name: string): Promise<LabHost> {
    const device = await this.lab.addHost(name, { behindNat: true });
    await device.startSshd();
    const agent = device.spawn(DEVICE_LAUNCHER, ["agent"], {
      env: { SUPPORT_API_URL: this.api.url },
      stdin: "ignore",
      stdout: { file: path.join(this.tmp, `agent-${name}.out.log`) },
      stderr: { file: this.agentLogPath(name) },
    });
    this.agents.push(agent);
    return device;
  }

  /** `support-device request --json` in the device host. */
  async request(
    device: LabHost,
    description = "demo",
  ): Promise<{ tunnelId: string; presharedKey: string }> {
    const result = await device.exec(
      process.execPath,
      [DEVICE_BIN, "request", "--json", "--description", description],
      {
        env: { SUPPORT_API_URL: this.api.url },
        timeoutMs: 30_000,
      },
    );
    if (result.exitCode !== 0) throw new Error(`support-device request failed: ${result.stderr}`);
    const parsed = JSON.parse(result.stdout) as { tunnelId: string; presharedKey: string };
    return { tunnelId: parsed.tunnelId, presharedKey: parsed.presharedKey };
  }

  /** Runs `support ARGS` with this world's config (and `env` on top); never throws on a non-zero exit. */
  async support(
    args: string[],
    options: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
  ): Promise<RunResult> {
    const result = await this.supportProcess(args, options);
    return {
      stdout: String(result.stdout),
      stderr: String(result.stderr),
      exitCode: result.exitCode ?? -1,
    };
  }

  supportProcess(
    args: string[],
    options: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
  ) {
    return execa(process.execPath, [SUPPORT_BIN, ...args], {
      env: { SUPPORT_ADMIN_CONFIG: this.configPath, ...options.env },
      input: options.input ?? "",
      timeout: options.timeoutMs ?? 120_000,
      reject: false,
    });
  }

  /** Where the agent of device host `name` writes its log (stderr). */
  agentLogPath(name: string): string {
    return path.join(this.tmp, `agent-${name}.err.log`);
  }

  /** The agents' output, for a failure report. */
  agentLogs(): string {
    return fs
      .readdirSync(this.tmp)
      .filter((f) => f.startsWith("agent-"))
      .map((f) => `--- ${f}\n${fs.readFileSync(path.join(this.tmp, f), "utf8").slice(-4000)}`)
      .join("\n");
  }

  async stop(): Promise<void> {
    for (const agent of this.agents) agent.kill("SIGTERM");
    await Promise.allSettled(this.agents);
    await this.api.stop();
    await this.lab.destroy();
    process.off("exit", this.removeTmp);
    this.removeTmp();
  }
}

/** Does the device host still have this user / interface? */
export async function deviceHas(
  device: LabHost,
  what: { user?: string; iface?: string },
): Promise<boolean> {
  if (what.user) return (await device.exec("id", [what.user])).exitCode === 0;
  if (what.iface)
    return (await device.exec("ip", ["link", "show", "dev", what.iface])).exitCode === 0;
  return false;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
}

async function demo(): Promise<void> {
  const missing = missingLab();
  if (missing) throw new Error(`the demo ${missing}`);
  say("==> building the lab: internet segment, api, device behind NAT");
  const world = await DemoWorld.start((l) => say(`    ${l}`));
  try {
    const device = await world.addDevice("device");
    say(
      `    device host ${device.address} behind NAT (seen on the internet as ${device.internetAddress}); agent running`,
    );

    say("==> customer, on the device: support-device request --json");
    const { tunnelId, presharedKey } = await world.request(device);
    say(`    tunnel ${tunnelId}; the PSK goes to support out of band`);

    say(`==> engineer: support create ${tunnelId} --provider netns --psk -`);
    const started = performance.now();
    const create = world.supportProcess(["create", tunnelId, "--provider", "netns", "--psk", "-"], {
      input: presharedKey + "\n",
    });
    create.stderr?.on("data", (d: Buffer) => process.stdout.write(indent(d.toString()) + "\n"));
    const created = await create;
    if (created.exitCode !== 0) throw new Error(`support create failed (exit ${created.exitCode})`);

    say(`==> engineer: support command ${tunnelId} -- hostname`);
    let firstOutput: number | null = null;
    const hostname = world.supportProcess(["command", tunnelId, "--", "hostname"]);
    hostname.stdout?.once("data", () => (firstOutput ??= performance.now()));
    const hostnameResult = await hostname;
    if (hostnameResult.exitCode !== 0) {
      throw new Error(
        `support command hostname failed (exit ${hostnameResult.exitCode}): ${String(hostnameResult.stderr)}`,
      );
    }
    say(indent(String(hostnameResult.stdout)));
    const timeToShell = ((firstOutput ?? performance.now()) - started) / 1000;

    say(`==> engineer: support command ${tunnelId} -- id`);
    const id = await world.support(["command", tunnelId, "--", "id"]);
    if (id.exitCode !== 0 || !id.stdout.includes("uid=0(root)")) {
      throw new Error(
        `support command id did not run as root (exit ${id.exitCode}): ${id.stdout}${id.stderr}`,
      );
    }
    say(indent(id.stdout));
    say(`time to shell: ${timeToShell.toFixed(2)} s`);

    const shown = JSON.parse((await world.support(["show", tunnelId, "--json"])).stdout) as {
      supportUser: string;
      server: { instanceId: string };
    };
    const iface = interfaceName(tunnelId, "device");
    const serverHost = shown.server.instanceId.split(":")[1]!;

    say(`==> engineer: support stop ${tunnelId}`);
    const stopped = await world.support(["stop", tunnelId]);
    if (stopped.exitCode !== 0) throw new Error(`support stop failed: ${stopped.stderr}`);
    say(indent(stopped.stdout));

    say("==> checking that nothing is left");
    await waitFor(
      async () => !(await deviceHas(device, { user: shown.supportUser })),
      `user ${shown.supportUser} to go`,
      30_000,
    );
    say(`    user ${shown.supportUser} on the device: gone`);
    await waitFor(
      async () => !(await deviceHas(device, { iface })),
      `interface ${iface} to go`,
      30_000,
    );
    say(`    interface ${iface} on the device: gone`);
    if (world.lab.hosts().some((h) => h.name === serverHost))
      throw new Error(`server ${serverHost} still exists`);
    const netns = await execa("ip", ["netns", "list"], { timeout: 10_000 });
    if (String(netns.stdout).includes(`-${serverHost}`))
      throw new Error(`namespace of ${serverHost} still exists`);
    say(`    tunnel server ${shown.server.instanceId} (namespace, sshd, WireGuard): gone`);
    const state = JSON.parse((await world.support(["show", tunnelId, "--json"])).stdout) as {
      state: string;
    };
    say(`    tunnel state: ${state.state}`);

    // What the customer can read afterwards: the tunnel and its account are gone, the record is not.
    const onDevice = async (args: string[]) => {
      const r = await device.exec(process.execPath, [DEVICE_BIN, ...args], { timeoutMs: 60_000 });
      if (r.exitCode !== 0) throw new Error(`support-device ${args.join(" ")} failed: ${r.stderr}`);
      return r.stdout;
    };
    say(`==> customer, on the device: support-device log ${tunnelId}`);
    say(indent(await onDevice(["log", tunnelId])));
    const { sessions } = JSON.parse(await onDevice(["sessions", tunnelId, "--json"])) as {
      sessions: { session: string; displayCommand: string | null }[];
    };
    const idSession = sessions.find((s) => s.displayCommand === "id");
    if (!idSession) throw new Error("the device recorded no session of `id`");
    say(`==> customer, on the device: support-device replay ${idSession.session}`);
    say(indent(await onDevice(["replay", idSession.session, "--speed", "100"])));
  } catch (err) {
    say("==> device agent output");
    say(indent(world.agentLogs()));
    throw err;
  } finally {
    say("==> tearing down the lab");
    await world.stop();
  }
  say("demo finished: OK");
}

if (require.main === module) {
  demo().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
