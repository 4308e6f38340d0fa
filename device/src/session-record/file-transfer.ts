// File transfers over a support session: which requests are sftp, scp or rsync,
// and what they moved. sshd hands the session program an sftp subsystem request
// as the subsystem's command line (`internal-sftp`, `/usr/lib/openssh/sftp-server`),
// `scp -O` as `scp [-v] [-r] [-p] [-d] -t|-f [--] PATH`, and `rsync -e ssh` as
// `rsync --server [--sender] FLAGS . PATH...`. Pure: the session program runs the
// device's own binary (never one the request names) and feeds what flows here.
import * as path from "node:path";
import { parseShellWords } from "./command-text";

export type TransferTool = "sftp" | "scp" | "rsync";
export type TransferDirection = "upload" | "download";

/** A request the session program carries as a file transfer, with the args for the device's binary. */
export type TransferRequest =
  | { tool: "sftp" }
  | { tool: "scp"; direction: TransferDirection; args: string[]; target: string }
  | { tool: "rsync"; direction: TransferDirection; args: string[]; paths: string[] };

const SCP_FLAGS = new Set(["-v", "-r", "-p", "-d", "-t", "-f", "-q"]);
/** rsync's server options: `--server`, `--sender`, `-vlogDtpre.iLsfxCIvu`, `--long=value`, `.`. */
const RSYNC_ARG = /^(-[A-Za-z0-9.]+|--[a-z][a-z0-9-]*(=[A-Za-z0-9.,_:/+-]*)?|\.)$/;

/**
 * The transfer a session asked for, or null when it is anything else (or uses
 * shell syntax, which only a shell may read: then it runs as any command does).
 */
export function recognizeTransfer(command: string | null): TransferRequest | null {
  if (command === null) return null;
  const words = parseShellWords(command);
  if (!words || words.length === 0) return null;
  const program = words[0]!;
  const name = program.split("/").pop()!;
  if (program === "internal-sftp" || (name === "sftp-server" && program.startsWith("/")))
    return { tool: "sftp" };
  if (name === "scp") return recognizeScp(words.slice(1));
  if (name === "rsync") return recognizeRsync(words.slice(1));
  return null;
}

function recognizeScp(args: string[]): TransferRequest | null {
  const flags: string[] = [];
  let i = 0;
  for (; i < args.length && args[i] !== "--" && args[i]!.startsWith("-"); i++) {
    if (!SCP_FLAGS.has(args[i]!)) return null;
    flags.push(args[i]!);
  }
  if (args[i] === "--") i++;
  const rest = args.slice(i);
  const upload = flags.includes("-t");
  const download = flags.includes("-f");
  // One path, one direction: what scp itself sends (a source per command).
  if (rest.length !== 1 || upload === download || rest[0] === "") return null;
  return {
    tool: "scp",
    direction: upload ? "upload" : "download",
    args: [...flags, "--", rest[0]!],
    target: rest[0]!,
  };
}

function recognizeRsync(args: string[]): TransferRequest | null {
  if (args[0] !== "--server") return null;
  const dot = args.indexOf(".");
  if (dot < 0) return null;
  const options = args.slice(0, dot + 1);
  const paths = args.slice(dot + 1);
  if (!options.every((a) => RSYNC_ARG.test(a)) || paths.length === 0) return null;
  // Options that would make the server run another program or read other files.
  if (options.some((a) => /^--(rsh|rsync-path|files-from|include-from|exclude-from)/.test(a)))
    return null;
  return {
    tool: "rsync",
    direction: options.includes("--sender") ? "download" : "upload",
    args,
    paths,
  };
}

/** One file moved, as the customer's timeline names it. */
export interface MovedFile {
  direction: TransferDirection;
  /** The path on the device. */
  path: string;
  bytes: number;
}

/**
 * Reads sftp-server's `-l INFO` log (on its stderr with `-e`): each file's
 * `open` says whether it was written, its `close` how many bytes moved.
 */
export class SftpLogReader {
  private readonly opened = new Map<string, boolean>();
  private pending = "";
  readonly files: MovedFile[] = [];

  feed(chunk: string): void {
    const lines = (this.pending + chunk).split("\n");
    this.pending = lines.pop()!.slice(-65536);
    for (const line of lines) this.line(line.replace(/\r$/, ""));
  }

  end(): void {
    if (this.pending) this.line(this.pending);
    this.pending = "";
  }

  private line(line: string): void {
    const open = /^open "(.*)" flags (\S+) mode \d+$/.exec(line);
    if (open) {
      this.opened.set(open[1]!, open[2]!.split(",").includes("WRITE"));
      return;
    }
    const close = /^close "(.*)" bytes read (\d+) written (\d+)$/.exec(line);
    if (!close) return;
    const file = close[1]!;
    const [read, written] = [Number(close[2]), Number(close[3])];
    const wrote = this.opened.get(file) ?? written > 0;
    this.opened.delete(file);
    this.files.push(
      wrote
        ? { direction: "upload", path: file, bytes: written }
        : { direction: "download", path: file, bytes: read },
    );
  }
}

/**
 * Reads the data direction of the legacy scp protocol (what the client sends to
 * `scp -t`, what `scp -f` sends back): `C0644 SIZE NAME` then SIZE bytes and a
 * status byte, `D0755 0 NAME` … `E` around a directory, `T…` times.
 */
export class ScpStreamReader {
  private line: Buffer[] = [];
  private lineLength = 0;
  /** Bytes of a file's data (and its trailing status byte) still to come. */
  private remaining = 0;
  private readonly dirs: string[] = [];
  readonly files: MovedFile[] = [];

  /**
   * `base`: where the first level lands: the target directory of an upload, the
   * parent of a download's source; `single`: the whole path of a lone file.
   */
  constructor(
    private readonly direction: TransferDirection,
    private readonly place: { base: string; single: string | null },
  ) {}

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        this.remaining -= n;
        i += n;
        continue;
      }
      const nl = chunk.indexOf(10, i);
      const end = nl < 0 ? chunk.length : nl;
      if (this.lineLength < 65536) {
        this.line.push(chunk.subarray(i, end));
        this.lineLength += end - i;
      }
      i = end;
      if (nl < 0) break;
      i++;
      const text = Buffer.concat(this.line).toString("utf8");
      this.line = [];
      this.lineLength = 0;
      this.control(text);
    }
  }

  private control(text: string): void {
    const file = /^C[0-7]{4} (\d+) (.+)$/.exec(text);
    if (file) {
      const bytes = Number(file[1]);
      const name = file[2]!;
      const at =
        this.dirs.length === 0 && this.place.single !== null
          ? this.place.single
          : path.posix.join(this.place.base, ...this.dirs, name);
      this.files.push({ direction: this.direction, path: at, bytes });
      this.remaining = bytes + 1;
      return;
    }
    const dir = /^D[0-7]{4} \d+ (.+)$/.exec(text);
    if (dir) this.dirs.push(dir[1]!);
    else if (text === "E") this.dirs.pop();
  }
}

/** Where `scp -t TARGET` / `scp -f SOURCE` puts or finds its first level. */
export function scpPlace(
  request: Extract<TransferRequest, { tool: "scp" }>,
  targetIsDirectory: boolean,
): { base: string; single: string | null } {
  if (request.direction === "upload")
    return targetIsDirectory || request.args.includes("-d")
      ? { base: request.target, single: null }
      : { base: path.posix.dirname(request.target), single: request.target };
  return { base: path.posix.dirname(request.target), single: request.target };
}
