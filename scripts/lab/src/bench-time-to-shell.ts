// Benchmark, not a test: in one lab, measures each of two things next to its
// floor (stock OpenSSH and WireGuard tools doing the same steps over the same
// hops), alternating, N times each, and prints min / median / max and the ratio:
// - time to shell: from `support create` starting to the first output of
//   `support command <id> -- hostname`; floor: one OpenSSH session configuring a
//   fresh server (WireGuard config, wg-quick up, the egress key), the device's
//   side by hand (wg-quick up, a user with the egress key), then a stock two-hop
//   ssh running hostname;
// - `support command <id> -- true`; floor: the same two hops with stock ssh
//   (no connection kept open, which is what `support` does better).
// Usage: node scripts/lab/dist/bench-time-to-shell.js [N=5] [--json FILE]
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  generateKeyPair,
  generatePresharedKey,
  renderWgQuickConfig,
  tunnelAddresses,
} from "@support-tunnel/common";
import { execa } from "execa";
import { DemoWorld } from "./demo";
import type { LabHost } from "./host";
import { missingLab } from "./prerequisites";

type Device = Parameters<DemoWorld["request"]>[0];

export interface Figures {
  min: number;
  median: number;
  max: number;
  runs: number[];
}

export interface Comparison {
  measure: string;
  ours: Figures;
  floor: Figures;
  /** What the floor is. */
  floorIs: string;
  /** ours.median / floor.median */
  ratio: number;
}

function figures(runs: number[]): Figures {
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median =
    sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]!, runs };
}

/** Seconds from now until the process first writes to stdout (or ends). */
async function timeToFirstOutput(
  start: number,
  child: ReturnType<typeof execa> | ReturnType<DemoWorld["supportProcess"]>,
): Promise<number> {
  let first: number | null = null;
  child.stdout?.once("data", () => (first ??= performance.now()));
  const result = await child;
  if (result.exitCode !== 0) throw new Error(`failed: ${String(result.stderr)}`);
  return ((first ?? performance.now()) - start) / 1000;
}

/**
 * The phases of time to shell, each the first line of `support create`'s stderr
 * or of the agent's log that marks its end, in the order they happen. Their
 * times come from when the line was seen, so a phase's figure is the gap since
 * the phase before it.
 */
const PHASES: { name: string; from: "create" | "agent"; line: RegExp }[] = [
  { name: "api checks (whoami, tunnel, psk, preflight)", from: "create", line: /^… obtaining/ },
  { name: "provider: server ready", from: "create", line: /^✓ tunnel server/ },
  { name: "server setup script", from: "create", line: /^✓ server configured/ },
  { name: "approval posted", from: "create", line: /^approval posted/ },
  { name: "device's long-poll woken", from: "agent", line: /: started$/ },
  { name: "device up (WireGuard, user), reported", from: "agent", line: / is up: support user/ },
  { name: "create sees running", from: "create", line: /^✓ device connected/ },
  { name: "first contact, host key pinned", from: "create", line: /^✓ device's SSH host key/ },
  { name: "create exits", from: "create", line: /^create exited$/ },
];
const FIRST_OUTPUT = "`command` first output";

/** Seconds from `started` at which each line of a stream was seen. */
function timestampLines(
  stream: NodeJS.ReadableStream,
  started: number,
  into: { at: number; line: string }[],
): void {
  let rest = "";
  stream.on("data", (chunk: Buffer) => {
    const at = (performance.now() - started) / 1000;
    const lines = (rest + chunk.toString("utf8")).split("\n");
    rest = lines.pop()!;
    for (const line of lines) into.push({ at, line });
  });
}

/**
 * Follows a growing log file, timestamping each new line when first seen (every
 * 10 ms: the agent writes to a file, not to us). Returns a stop function.
 */
function followLog(
  file: string,
  started: number,
  into: { at: number; line: string }[],
): () => void {
  let offset = fs.existsSync(file) ? fs.statSync(file).size : 0;
  let rest = "";
  const read = () => {
    const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
    if (size <= offset) return;
    const fd = fs.openSync(file, "r");
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    fs.closeSync(fd);
    offset = size;
    const at = (performance.now() - started) / 1000;
    const lines = (rest + buf.toString("utf8")).split("\n");
    rest = lines.pop()!;
    for (const line of lines) into.push({ at, line });
  };
  const timer = setInterval(read, 10);
  return () => {
    read();
    clearInterval(timer);
  };
}

/** Each phase's end, in seconds from create's start (null when its line was not seen). */
type PhaseEnds = Map<string, number | null>;
const phaseRuns: PhaseEnds[] = [];

function phaseEnds(
  create: { at: number; line: string }[],
  agent: { at: number; line: string }[],
  tunnelId: string,
  firstOutput: number,
): PhaseEnds {
  const ends: PhaseEnds = new Map();
  for (const phase of PHASES) {
    const lines = phase.from === "create" ? create : agent.filter((l) => l.line.includes(tunnelId));
    ends.set(phase.name, lines.find((l) => phase.line.test(l.line.trim()))?.at ?? null);
  }
  ends.set(FIRST_OUTPUT, firstOutput);
  return ends;
}

/** `phase +gap (at)` for one run, each gap since the previous phase seen. */
function describePhases(ends: PhaseEnds): string {
  let previous = 0;
  const parts: string[] = [];
  for (const [name, at] of ends) {
    if (at === null) {
      parts.push(`${name} ?`);
      continue;
    }
    parts.push(`${name} +${(at - previous).toFixed(2)} (${at.toFixed(2)})`);
    previous = at;
  }
  return parts.join("; ");
}

/** The median gap of each phase over the runs, and the share of the median total. */
function phaseSummary(runs: PhaseEnds[]): string[] {
  if (runs.length === 0) return [];
  const gaps = new Map<string, number[]>();
  for (const ends of runs) {
    let previous = 0;
    for (const [name, at] of ends) {
      if (at === null) continue;
      gaps.set(name, [...(gaps.get(name) ?? []), at - previous]);
      previous = at;
    }
  }
  return [
    "time to shell by phase (median gap since the phase before, over the runs):",
    ...[...gaps].map(([name, g]) => `  ${name}: ${figures(g).median.toFixed(3)} s`),
  ];
}

/** Ours: approve with `support create`, then the first command's output. */
async function oursTimeToShell(world: DemoWorld, device: Device): Promise<string> {
  const { tunnelId, presharedKey } = await world.request(device, "benchmark");
  const createLines: { at: number; line: string }[] = [];
  const agentLines: { at: number; line: string }[] = [];
  const started = performance.now();
  const stopFollowing = followLog(world.agentLogPath("device"), started, agentLines);
  try {
    const create = world.supportProcess(["create", tunnelId, "--psk", "-"], {
      input: presharedKey + "\n",
    });
    timestampLines(create.stderr, started, createLines);
    const created = await create;
    createLines.push({ at: (performance.now() - started) / 1000, line: "create exited" });
    if (created.exitCode !== 0) throw new Error(`create failed: ${String(created.stderr)}`);
    const seconds = await timeToFirstOutput(
      started,
      world.supportProcess(["command", tunnelId, "--", "hostname"]),
    );
    times.ours.push(seconds);
    stopFollowing();
    phaseRuns.push(phaseEnds(createLines, agentLines, tunnelId, seconds));
  } finally {
    stopFollowing();
  }
  return tunnelId;
}

const times = { ours: [] as number[], floor: [] as number[] };

// Interface names differ per side and run: the lab's namespaces share /var/run/wireguard.
const serverScript = (iface: string) =>
  [
    "set -e",
    "install -d -m 0700 /var/lib/bench",
    "umask 077",
    `cat > /var/lib/bench/${iface}.conf`,
    `wg-quick up /var/lib/bench/${iface}.conf 2>/dev/null`,
    "ssh-keygen -q -t ed25519 -N '' -f /var/lib/bench/egress",
    "cat /var/lib/bench/egress.pub",
  ].join("; ");

/** The floor: the same steps with stock tools, no api, no agent. */
async function floorTimeToShell(
  world: DemoWorld,
  device: LabHost,
  key: string,
  run: number,
): Promise<void> {
  const network = `10.77.${run}.0/30`;
  const addresses = tunnelAddresses(network);
  const server = generateKeyPair();
  const dev = generateKeyPair();
  const psk = generatePresharedKey();
  const user = `stbench${run}`;
  const started = performance.now();
  const host = await world.lab.addHost(`fl${process.pid % 10000}x${run}`);
  try {
    const pub = fs.readFileSync(`${key}.pub`, "utf8").trim();
    // As the netns provider starts a tunnel server's: the ed25519 host key only.
    const sshd = await host.startSshd({ authorizedKeysForRoot: [pub], hostKeyTypes: ["ed25519"] });
    const knownHosts = path.join(os.tmpdir(), `bench-kh-${process.pid}-${run}`);
    const pattern = sshd.port === 22 ? host.address : `[${host.address}]:${sshd.port}`;
    fs.writeFileSync(knownHosts, `${pattern} ${sshd.hostPublicKey}\n`);
    const ssh = (remote: string[], input?: string) =>
      execa(
        "ssh",
        [
          "-i",
          key,
          "-o",
          "IdentitiesOnly=yes",
          "-o",
          "BatchMode=yes",
          "-o",
          `UserKnownHostsFile=${knownHosts}`,
          "-p",
          String(sshd.port),
          `root@${host.address}`,
          "--",
          ...remote,
        ],
        { input: input ?? "", timeout: 60_000 },
      );
    const serverConfig = renderWgQuickConfig({
      privateKey: server.privateKey,
      address: addresses.server,
      prefix: 30,
      listenPort: 51820,
      peer: { publicKey: dev.publicKey, presharedKey: psk, allowedIp: addresses.device },
    });
    const egress = String((await ssh([serverScript(`stbs${run}`)], serverConfig)).stdout).trim();
    // The device's side, as the agent does it: WireGuard up, a user with the egress key.
    const deviceConfig = renderWgQuickConfig({
      privateKey: dev.privateKey,
      address: addresses.device,
      prefix: 30,
      peer: {
        publicKey: server.publicKey,
        presharedKey: psk,
        allowedIp: addresses.server,
        endpoint: { host: host.address, port: 51820 },
        persistentKeepalive: 25,
      },
    });
    await device.exec(
      "sh",
      [
        "-c",
        'set -e; umask 077; install -d -m 0700 /etc/wireguard; cat > "/etc/wireguard/$3.conf"; wg-quick up "$3" 2>/dev/null; useradd -m "$1"; install -d -m 0700 -o "$1" "/home/$1/.ssh"; printf "%s\\n" "$2" > "/home/$1/.ssh/authorized_keys"; chown "$1" "/home/$1/.ssh/authorized_keys"',
        "sh",
        user,
        egress,
        `stbd${run}`,
      ],
      { input: deviceConfig, reject: true },
    );
    const hop = [
      "ssh",
      "-i",
      "/var/lib/bench/egress",
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=accept-new",
      "-o",
      "UserKnownHostsFile=/var/lib/bench/known_hosts",
      `${user}@${addresses.device}`,
      "hostname",
    ].join(" ");
    times.floor.push(await timeToFirstOutput(started, ssh([hop])));
  } finally {
    await device
      .exec("sh", [
        "-c",
        'wg-quick down "$2" 2>/dev/null; rm -f "/etc/wireguard/$2.conf"; userdel -r "$1" 2>/dev/null; true',
        "sh",
        user,
        `stbd${run}`,
      ])
      .catch(() => undefined);
    await world.lab.removeHost(host.name).catch(() => undefined);
    fs.rmSync(path.join(os.tmpdir(), `bench-kh-${process.pid}-${run}`), { force: true });
  }
}

/** `support command <id> -- true`, whole process. */
async function oursCommand(world: DemoWorld, tunnelId: string): Promise<number> {
  const started = performance.now();
  const r = await world.support(["command", tunnelId, "--", "true"]);
  if (r.exitCode !== 0) throw new Error(`command failed: ${r.stderr}`);
  return (performance.now() - started) / 1000;
}

interface RecordFile {
  knownHostsPath: string;
  server: {
    interfaceName: string;
    ssh: { host: string; port: number; username: string; privateKeyPath: string };
  };
  device: { address: string; supportUser: string; hostKeyAlias: string };
}

/** Stock OpenSSH over the same two hops with the same keys and checks, fresh connections. */
async function floorCommand(world: DemoWorld, tunnelId: string): Promise<number> {
  const record = JSON.parse(
    fs.readFileSync(
      path.join(path.dirname(world.configPath), "servers", `${tunnelId}.json`),
      "utf8",
    ),
  ) as RecordFile;
  const dir = `/var/lib/support-tunnel-server/${tunnelId}`;
  const hop = [
    "ssh -F none",
    `-i ${dir}/egress -o IdentitiesOnly=yes`,
    `-o BindInterface=${record.server.interfaceName}`,
    `-o UserKnownHostsFile=${dir}/known_hosts -o HostKeyAlias=${record.device.hostKeyAlias}`,
    "-o StrictHostKeyChecking=yes -o BatchMode=yes -T",
    `${record.device.supportUser}@${record.device.address} sudo -n -- true`,
  ].join(" ");
  const { ssh } = record.server;
  const started = performance.now();
  const r = await execa(
    "ssh",
    [
      "-i",
      ssh.privateKeyPath,
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      `UserKnownHostsFile=${record.knownHostsPath}`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "BatchMode=yes",
      "-T",
      "-p",
      String(ssh.port),
      `${ssh.username}@${ssh.host}`,
      "--",
      hop,
    ],
    { reject: false, timeout: 60_000, stdin: "ignore" },
  );
  if (r.exitCode !== 0) throw new Error(`stock ssh failed: ${String(r.stderr)}`);
  return (performance.now() - started) / 1000;
}

/**
 * Three lines per measure: ours, its floor, the ratio. Each figure on a line of its
 * own, `<label>: min X s, median Y s, max Z s`, as scripts/bench reads them.
 */
function lines(c: Comparison): string[] {
  const f = (x: Figures) =>
    `min ${x.min.toFixed(3)} s, median ${x.median.toFixed(3)} s, max ${x.max.toFixed(3)} s`;
  return [
    `${c.measure}: ${f(c.ours)}`,
    `${c.measure}, floor (${c.floorIs}): ${f(c.floor)}`,
    `${c.measure}: ${c.ratio.toFixed(2)}× the floor (medians)`,
  ];
}

export async function bench(runs: number, log = (l: string) => process.stderr.write(`${l}\n`)) {
  const missing = missingLab();
  if (missing) throw new Error(`the benchmark ${missing}`);
  const world = await DemoWorld.start(log);
  const key = path.join(path.dirname(world.configPath), "id_ed25519");
  try {
    const device = await world.addDevice("device");
    const commands = { ours: [] as number[], floor: [] as number[] };
    for (let i = 1; i <= runs; i++) {
      // Alternating, so a change in the machine's load falls on both.
      const tunnelId = await oursTimeToShell(world, device);
      await floorTimeToShell(world, device, key, i);
      log(
        `run ${i}/${runs}: time to shell ${times.ours.at(-1)!.toFixed(2)} s, floor ${times.floor.at(-1)!.toFixed(2)} s`,
      );
      log(`run ${i}/${runs}: phases, s: ${describePhases(phaseRuns.at(-1)!)}`);
      for (let j = 0; j < 2; j++) {
        commands.ours.push(await oursCommand(world, tunnelId));
        commands.floor.push(await floorCommand(world, tunnelId));
      }
      log(
        `run ${i}/${runs}: command ${commands.ours.slice(-2).map((t) => t.toFixed(2))} s, floor ${commands.floor.slice(-2).map((t) => t.toFixed(2))} s`,
      );
      const stopped = await world.support(["stop", tunnelId]);
      if (stopped.exitCode !== 0) throw new Error(`stop failed: ${stopped.stderr}`);
    }
    const compare = (
      measure: string,
      floorIs: string,
      ours: number[],
      floor: number[],
    ): Comparison => {
      const o = figures(ours);
      const f = figures(floor);
      return { measure, floorIs, ours: o, floor: f, ratio: o.median / f.median };
    };
    for (const line of phaseSummary(phaseRuns)) log(line);
    return [
      compare(
        "time to shell",
        "stock tools: one OpenSSH session configuring the server, the device by hand, two-hop ssh",
        times.ours,
        times.floor,
      ),
      compare(
        "support command <id> -- true",
        "stock OpenSSH over the same two hops",
        commands.ours,
        commands.floor,
      ),
    ];
  } finally {
    await world.stop();
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const jsonAt = args.indexOf("--json");
  const jsonFile = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;
  const runs = Number(args[0] ?? 5);
  if (!Number.isInteger(runs) || runs < 1 || (jsonAt >= 0 && !jsonFile)) {
    process.stderr.write("usage: bench-time-to-shell [N] [--json FILE]\n");
    process.exit(2);
  }
  const loadBefore = os.loadavg();
  bench(runs).then(
    (comparisons) => {
      for (const c of comparisons) process.stdout.write(lines(c).join("\n") + "\n");
      if (jsonFile) {
        const report = {
          date: new Date().toISOString(),
          runs,
          cpus: os.cpus().length,
          loadavg: { before: loadBefore, after: os.loadavg() },
          comparisons,
        };
        fs.writeFileSync(jsonFile, JSON.stringify(report, null, 2) + "\n");
      }
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(
        `benchmark failed: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
