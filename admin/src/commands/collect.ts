// `support collect <id> [-o FILE]`: a diagnostics bundle from the device in one
// round trip: one session runs the fixed collection script this CLI ships (sent
// on stdin as data) as root, and streams back a .tar.gz that is written to one
// file here, checked (a manifest, nothing outside the bundle's folder) and kept
// only then. The customer's timeline shows it with its size.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { link, readFile, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import {
  collectSessionArgv,
  formatBytes,
  renderTable,
  type TunnelId,
} from "@support-tunnel/common";
import { readBundle, BundleError } from "../collect/bundle";
import {
  COLLECT_SCRIPT_VERSION,
  PROGRESS_PREFIX,
  renderCollectScript,
} from "../collect/collect-script";
import type { Context } from "../context";
import { CliError, ExitCode } from "../errors";
import { reachDevice } from "../reach-device";
import { whyTunnelEnded } from "../session-ending";
import { throughServerArgs } from "../ssh/system-ssh";
import { resolveTunnelId } from "../tunnel-id";

/** More than this from the device is not a bundle of ours: the transfer is cut. */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

export interface CollectOptions {
  id: string;
  /** -o FILE; default support-<short id>-<time>.tar.gz in the current folder. */
  output?: string;
  ctx: Context;
  now?: Date;
}

/** `support-3f6c0b9e-20300101-100300.tar.gz`. */
export function defaultBundleName(tunnelId: TunnelId | string, now: Date): string {
  const t = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `support-${tunnelId.slice(0, 8)}-${t}.tar.gz`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function collect({
  id,
  output,
  ctx,
  now = new Date(),
}: CollectOptions): Promise<void> {
  if (output !== undefined && (output === "" || output.endsWith("/")))
    throw new CliError(`-o must name a file, not ${JSON.stringify(output)}`, ExitCode.Usage);
  const tunnelId = await resolveTunnelId(id, () => ctx.api());
  const target = resolve(output ?? defaultBundleName(tunnelId, now));
  if (await exists(target))
    throw new CliError(
      `${target} exists: not overwritten; give another with -o`,
      ExitCode.Conflict,
    );
  if (
    !(await stat(dirname(target)).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new CliError(
      `no folder ${dirname(target)} to write ${basename(target)} in`,
      ExitCode.Usage,
    );
  const { record, hop, controlPath } = await reachDevice(ctx, tunnelId);
  const args = throughServerArgs(
    record.server.ssh,
    record.knownHostsPath,
    hop,
    collectSessionArgv(COLLECT_SCRIPT_VERSION),
    false,
    { controlPath: controlPath ?? undefined },
  );
  // Written beside the target, under a name no one else picks, and linked into
  // place only once checked: the target never holds a partial or hostile bundle.
  const partial = join(
    dirname(target),
    `.${basename(target)}.${randomBytes(6).toString("hex")}.partial`,
  );
  const step = ctx.printer.step(`collecting diagnostics from ${tunnelId}`);
  let received = 0;
  let part = "";
  let sshErrors = "";
  let tooBig = false;
  try {
    const code = await new Promise<number | null>((resolveRun, reject) => {
      const file = createWriteStream(partial, { flags: "wx", mode: 0o600 });
      const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
      child.once("error", reject);
      file.once("error", (err) => {
        child.kill();
        reject(err);
      });
      child.stdin.on("error", () => undefined);
      child.stdin.end(renderCollectScript());
      child.stdout.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_BUNDLE_BYTES && !tooBig) {
          tooBig = true;
          child.kill();
        }
        step.update(`collecting diagnostics: ${part || "starting"} (${formatBytes(received)})`);
      });
      child.stdout.pipe(file);
      let pending = "";
      child.stderr.on("data", (chunk: Buffer) => {
        pending += chunk.toString("utf8");
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (line.startsWith(PROGRESS_PREFIX)) {
            part = line
              .slice(PROGRESS_PREFIX.length)
              .replace(/[^a-z0-9-]/g, "")
              .slice(0, 32);
            step.update(`collecting diagnostics: ${part} (${formatBytes(received)})`);
          } else sshErrors += `${line}\n`;
        }
      });
      // Both done: ssh ended, and every byte it sent is on disk.
      let exitCode: number | null | undefined;
      let flushed = false;
      const settle = () => {
        if (exitCode !== undefined && flushed) resolveRun(exitCode);
      };
      child.once("close", (c) => {
        exitCode = c;
        settle();
      });
      file.once("close", () => {
        flushed = true;
        settle();
      });
    });
    if (tooBig)
      throw new CliError(
        `the device sent more than ${formatBytes(MAX_BUNDLE_BYTES)}: not a bundle of this CLI's script; nothing kept`,
        ExitCode.Failure,
      );
    if (code !== 0) {
      const detail = sshErrors.trim().split("\n").slice(-3).join(" / ");
      if (code === 255) {
        const ended = await whyTunnelEnded(ctx.api(), tunnelId);
        throw new CliError(
          ended
            ? `the collection was cut: ${ended}`
            : `ssh to the device through ${record.server.instanceId} failed (exit 255)${detail ? `: ${detail}` : ""}`,
          ExitCode.SshFailure,
        );
      }
      throw new CliError(
        `the collection failed on the device (exit ${code ?? "?"})${detail ? `: ${detail}` : ""}; nothing kept`,
        ExitCode.Failure,
      );
    }
    let bundle: ReturnType<typeof readBundle>;
    try {
      bundle = readBundle(await readFile(partial));
    } catch (err) {
      if (err instanceof BundleError)
        throw new CliError(
          `refusing what the device sent: ${err.message}; nothing kept`,
          ExitCode.Refused,
        );
      throw err;
    }
    // link() fails if the target appeared meanwhile: never overwrites.
    await link(partial, target).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(
        err.code === "EEXIST"
          ? `${target} appeared meanwhile: not overwritten`
          : `cannot write ${target}: ${err.message}`,
        err.code === "EEXIST" ? ExitCode.Conflict : ExitCode.Failure,
      );
    });
    step.done(`collected ${formatBytes(received)} from ${tunnelId}`);
    const { manifest } = bundle;
    ctx.printer.data({ tunnelId, file: target, bytes: received, manifest }, () =>
      [
        target,
        renderTable(
          ["PART", "EXIT", "BYTES", "TRUNCATED"],
          manifest.parts.map((p) => [
            p.part,
            p.timedOut ? "timeout" : String(p.exitCode),
            String(p.bytes),
            p.truncated ? "yes" : "-",
          ]),
        ),
        ...(manifest.skipped.length
          ? [`skipped (not on the device): ${manifest.skipped.join(", ")}`]
          : []),
      ].join("\n"),
    );
  } catch (err) {
    step.fail();
    throw err;
  } finally {
    await unlink(partial).catch(() => undefined);
  }
}
