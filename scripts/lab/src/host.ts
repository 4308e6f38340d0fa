// A lab host: a network namespace plus a "holder" process whose private mount
// namespace has its own /etc and /var/lib (overlays), /home, /root, /var/log and
// /var/lib/support-tunnel.
// Everything run in the host enters both namespaces through the holder's pid.
import { spawn as spawnChild } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runProgram } from "@support-tunnel/common/dist/run-program";
import type { Options, ResultPromise } from "execa";
import { SBIN_PATH, isProcessAlive, run, sleep, type RunResult } from "./system";

/** What lab.json records about a host (shared between processes). */
export interface HostRecord {
  name: string;
  /** The host's network namespace. */
  netns: string;
  /** Lab-wide index, unique for the lab's lifetime (names the veths). */
  index: number;
  behindNat: boolean;
  /** The host's own address (on the internet segment, or on its LAN when behind NAT). */
  address: string;
  /** Where the host appears on the internet segment: its own address, or its NAT router's. */
  internetAddress: string;
  /** The LAN and router of a NAT'ed host. */
  lan?: { cidr: string; router: string; routerNetns: string };
  holderPid: number;
  holderStartTime: number | null;
  /** Per-host directory on the machine: etc-upper, etc-work, home, root, state, logs. */
  dir: string;
  /** false while being built; a host whose creator died before it was ready is reclaimed by the next addHost of that name. */
  ready?: boolean;
  creatorPid?: number;
  creatorStartTime?: number | null;
}

export interface HostExecOptions {
  input?: string;
  /** Default 30 s. */
  timeoutMs?: number;
  /** Added to a minimal environment (PATH with sbin, HOME=/root, LANG=C.UTF-8). */
  env?: Record<string, string>;
  /** Working directory inside the host; default `/`. */
  cwd?: string;
  /** Throw when the exit code is not 0 (default false: the caller reads exitCode). */
  reject?: boolean;
}

export interface SshdOptions {
  /** OpenSSH public key lines written to the host's /root/.ssh/authorized_keys. */
  authorizedKeysForRoot?: string[];
  /** Default 22. */
  port?: number;
  /** Default true, like a stock device (UsePAM no refuses useradd's password-locked users). */
  usePam?: boolean;
  /** Extra sshd_config lines, appended before the Include of sshd_config.d. */
  extraConfig?: string[];
  /**
   * Host keys to make and offer; default a stock host's three. ed25519 must be
   * one (it is the key returned). An RSA key takes a second or more to make on a
   * small busy machine: a host that only needs to be pinned can do without.
   */
  hostKeyTypes?: readonly HostKeyType[];
}

export type HostKeyType = "ed25519" | "ecdsa" | "rsa";

/** What `ssh-keygen -A` makes on a stock host. */
const STOCK_HOST_KEY_TYPES: readonly HostKeyType[] = ["ed25519", "ecdsa", "rsa"];

const SSHD_CONFIG = "/etc/ssh/sshd_config";
/** PREPARE_SSHD_SCRIPT's exit code when `sshd -t` refuses the config. */
const SSHD_CONFIG_REJECTED = 3;

/**
 * Run in the host: `sh -c SCRIPT sh CONFIG_PATH CONFIG AUTHORIZED_KEYS TYPE...`.
 * Makes the missing host keys of those types (at once: an RSA one is slow), the
 * config, root's authorized_keys when given, checks the config with `sshd -t`
 * (exit 3 when refused) and prints the ed25519 host public key.
 */
const PREPARE_SSHD_SCRIPT = `set -eu
conf=$1 config=$2 keys=$3; shift 3
pids=
for type in "$@"; do
  key=/etc/ssh/ssh_host_\${type}_key
  [ -e "$key" ] || { ssh-keygen -q -t "$type" -N '' -C '' -f "$key" & pids="$pids $!"; }
done
for pid in $pids; do wait "$pid"; done
mkdir -p /run/sshd
(umask 022 && printf '%s' "$config" > "$conf" && chmod 644 "$conf")
if [ -n "$keys" ]; then
  mkdir -p /root/.ssh && chmod 700 /root/.ssh
  (umask 077 && printf '%s' "$keys" > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys)
fi
/usr/sbin/sshd -t -f "$conf" || exit 3
cat /etc/ssh/ssh_host_ed25519_key.pub`;

export interface SshdInfo {
  port: number;
  /** `ssh-ed25519 AAAA...` (no comment), for known_hosts lines. */
  hostPublicKey: string;
  pid: number;
}

export const NSENTER = "nsenter";

/** Run by `node -e` inside a host: connect within argv[3] ms, then read for up to argv[4] ms. */
const PROBE_TCP_SCRIPT = `
const net = require("node:net");
const [host, port, connectMs, readMs] = process.argv.slice(1);
let connected = false, banner = "", done = false;
const finish = () => { if (done) return; done = true; socket.destroy();
  process.stdout.write(JSON.stringify({ connected, banner }), () => process.exit(0)); };
const socket = net.connect({ host, port: Number(port) });
const connectTimer = setTimeout(finish, Number(connectMs));
socket.once("connect", () => { connected = true; clearTimeout(connectTimer);
  setTimeout(finish, Number(readMs)); });
socket.on("data", (d) => { banner += d.toString(); finish(); });
socket.once("end", finish);
socket.once("error", finish);
`;

export class LabHost {
  private readonly children = new Set<ResultPromise>();

  constructor(
    readonly labName: string,
    readonly record: HostRecord,
  ) {}

  get name(): string {
    return this.record.name;
  }
  get netns(): string {
    return this.record.netns;
  }
  get address(): string {
    return this.record.address;
  }
  get internetAddress(): string {
    return this.record.internetAddress;
  }
  get behindNat(): boolean {
    return this.record.behindNat;
  }
  get holderPid(): number {
    return this.record.holderPid;
  }
  get dir(): string {
    return this.record.dir;
  }

  /** argv prefix that runs the rest of the argv inside this host (net, mount and UTS namespaces). */
  nsenterArgs(): string[] {
    return [NSENTER, `--target=${this.record.holderPid}`, "--mount", "--uts", "--net", "--"];
  }

  /** Runs a command in the host and returns its output; does not throw on non-zero exit unless `reject`. */
  async exec(
    file: string,
    args: readonly string[] = [],
    options: HostExecOptions = {},
  ): Promise<RunResult> {
    this.assertAlive();
    const [nsenter, ...prefix] = this.nsenterArgs();
    const result = await runProgram(nsenter!, [...prefix, ...wrapCwd(file, args, options.cwd)], {
      input: options.input ?? "",
      timeoutMs: options.timeoutMs ?? 30_000,
      env: hostEnv(options.env),
    });
    const out: RunResult = {
      stdout: result.stdout,
      stderr: result.startError ? result.startError.message : result.stderr,
      exitCode: result.exitCode ?? -1,
    };
    if (options.reject && out.exitCode !== 0) {
      const why = result.timedOut ? "timed out" : `exit ${out.exitCode}`;
      throw new Error(`[${this.name}] ${file} ${args.join(" ")}: ${why}: ${out.stderr.trim()}`);
    }
    return out;
  }

  /**
   * Starts a long-running process in the host and returns the execa child
   * (stdout/stderr piped unless `options` says otherwise). It is killed by
   * `lab.destroy()` / `removeHost()` with every other process of the host.
   */
  spawn(file: string, args: readonly string[] = [], options: Options = {}): ResultPromise {
    this.assertAlive();
    const [nsenter, ...prefix] = this.nsenterArgs();
    // Loaded here, not with this module: the netns provider of `support create` uses
    // hosts but never this, and execa's ESM graph is 0.1–0.2 s of its start.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { execa } = require("execa") as typeof import("execa");
    const child = execa(nsenter!, [...prefix, file, ...args], {
      reject: false,
      ...options,
      env: hostEnv(options.env as Record<string, string> | undefined),
      extendEnv: false,
    } as Options);
    this.children.add(child);
    const forget = () => this.children.delete(child);
    child.then(forget, forget);
    return child;
  }

  /**
   * Opens a TCP connection from the host and reads what the server says first
   * (an SSH banner, say). `connected` is false when refused, dropped or not
   * connected within `timeoutMs`; a connected server gets `readMs` to speak
   * (a silent one gives `banner: ""`).
   */
  async probeTcp(
    address: string,
    port: number,
    timeoutMs = 3000,
    readMs = 5000,
  ): Promise<{ connected: boolean; banner: string }> {
    const result = await this.exec(
      process.execPath,
      ["-e", PROBE_TCP_SCRIPT, address, String(port), String(timeoutMs), String(readMs)],
      {
        timeoutMs: timeoutMs + readMs + 15_000,
      },
    );
    try {
      return JSON.parse(result.stdout) as { connected: boolean; banner: string };
    } catch {
      throw new Error(`[${this.name}] probeTcp ${address}:${port} failed: ${result.stderr.trim()}`);
    }
  }

  /** Writes a file inside the host (its /etc, /root, /home... are the host's own). */
  async writeFile(file: string, content: string, mode = 0o644): Promise<void> {
    await this.exec(
      "sh",
      [
        "-c",
        'mkdir -p "$(dirname "$1")" && umask 077 && cat > "$1" && chmod "$2" "$1"',
        "sh",
        file,
        mode.toString(8),
      ],
      { input: content, reject: true },
    );
  }

  async readFile(file: string): Promise<string> {
    const result = await this.exec("cat", [file], { reject: true });
    return result.stdout;
  }

  /**
   * Starts OpenSSH's sshd in the host (detached: it outlives the calling
   * process, e.g. the `support` CLI, and dies with the host). Host keys are
   * generated in the host's own /etc/ssh. Resolves once sshd listens.
   */
  async startSshd(options: SshdOptions = {}): Promise<SshdInfo> {
    const port = options.port ?? 22;
    const hostKeyTypes = options.hostKeyTypes ?? STOCK_HOST_KEY_TYPES;
    if (!hostKeyTypes.includes("ed25519"))
      throw new Error(`[${this.name}] sshd needs an ed25519 host key: it is the one returned`);
    const config = [
      `Port ${port}`,
      "ListenAddress 0.0.0.0",
      ...hostKeyTypes.map((type) => `HostKey /etc/ssh/ssh_host_${type}_key`),
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      // PAM as on a stock Debian/Ubuntu device: without it sshd refuses
      // accounts whose password is locked, which is how useradd makes them.
      `UsePAM ${options.usePam === false ? "no" : "yes"}`,
      "PidFile none",
      "AuthorizedKeysFile .ssh/authorized_keys",
      "AllowTcpForwarding yes",
      "X11Forwarding no",
      "PrintMotd no",
      "Subsystem sftp internal-sftp",
      ...(options.extraConfig ?? []),
      "Include /etc/ssh/sshd_config.d/*.conf",
      "",
    ].join("\n");
    const authorizedKeys = options.authorizedKeysForRoot?.length
      ? options.authorizedKeysForRoot.join("\n") + "\n"
      : "";
    // One program in the host for all of it: each exec into a host is two processes.
    const prepared = await this.exec(
      "sh",
      ["-c", PREPARE_SSHD_SCRIPT, "sh", SSHD_CONFIG, config, authorizedKeys, ...hostKeyTypes],
      { timeoutMs: 60_000 },
    );
    if (prepared.exitCode === SSHD_CONFIG_REJECTED)
      throw new Error(`[${this.name}] sshd config rejected: ${prepared.stderr.trim()}`);
    if (prepared.exitCode !== 0)
      throw new Error(`[${this.name}] preparing sshd failed: ${prepared.stderr.trim()}`);
    const pub = prepared.stdout.trim();

    const logFile = path.join(this.dir, `sshd-${port}.log`);
    const pid = await this.spawnDetached(
      "/usr/sbin/sshd",
      ["-D", "-e", "-f", SSHD_CONFIG],
      logFile,
    );
    await waitForLine(logFile, /Server listening on/, {
      gone: () => !isProcessAlive(pid),
      timeoutMs: 15_000,
      describe: (log, why) => `[${this.name}] sshd ${why}: ${log.trim()}`,
    });
    return { port, hostPublicKey: pub.split(/\s+/).slice(0, 2).join(" "), pid };
  }

  /**
   * Starts a daemon in the host that survives the calling process (own process
   * group, output to `logFile`), returning its pid. Dies with the host.
   */
  async spawnDetached(
    file: string,
    args: readonly string[],
    logFile: string,
    env?: Record<string, string>,
  ): Promise<number> {
    this.assertAlive();
    const fd = fs.openSync(logFile, "a", 0o600);
    try {
      const child = spawnChild(NSENTER, [...this.nsenterArgs().slice(1), file, ...args], {
        detached: true,
        stdio: ["ignore", fd, fd],
        env: hostEnv(env),
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once("error", reject);
        child.once("spawn", () => resolve(child.pid!));
      });
      child.unref();
      return pid;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Kills the children this process spawned in the host (the lab kills the rest). */
  async killChildren(): Promise<void> {
    const children = [...this.children];
    for (const child of children) child.kill("SIGKILL");
    await Promise.allSettled(children);
  }

  private assertAlive(): void {
    if (!isProcessAlive(this.record.holderPid, this.record.holderStartTime)) {
      throw new Error(
        `lab host ${this.labName}/${this.name} is gone (holder ${this.record.holderPid} dead)`,
      );
    }
  }
}

function hostEnv(extra?: Record<string, string>): Record<string, string> {
  return { PATH: SBIN_PATH, HOME: "/root", LANG: "C.UTF-8", ...(extra ?? {}) };
}

/** nsenter starts at the mount namespace's root; `cwd` is honoured with a fixed `cd` wrapper. */
function wrapCwd(file: string, args: readonly string[], cwd?: string): string[] {
  if (!cwd) return [file, ...args];
  return ["sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", cwd, file, ...args];
}

/**
 * Resolves once `file` holds a line matching `pattern`: woken by the file's
 * changes (inotify), with a slow look as well in case a change is missed.
 * Rejects when `gone()` says its writer has ended, or after `timeoutMs`.
 */
async function waitForLine(
  file: string,
  pattern: RegExp,
  options: {
    gone: () => boolean;
    timeoutMs: number;
    describe: (log: string, why: string) => string;
  },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let wake = () => {};
  const watcher = fs.watch(file, () => wake());
  watcher.on("error", () => undefined); // the slow look below still sees the line
  try {
    for (;;) {
      const changed = new Promise<void>((resolve) => (wake = resolve));
      const log = readOr(file, "");
      if (pattern.test(log)) return;
      if (options.gone()) throw new Error(options.describe(log, "exited"));
      if (Date.now() > deadline) throw new Error(options.describe(log, "did not start listening"));
      await Promise.race([changed, sleep(200)]);
    }
  } finally {
    watcher.close();
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}

/** Runs a command in a plain network namespace (no private mounts): for NAT routers and the bridge. */
export function inNetns(
  netns: string,
  file: string,
  args: readonly string[],
  input?: string,
): Promise<RunResult> {
  return run("ip", ["netns", "exec", netns, file, ...args], { input });
}
