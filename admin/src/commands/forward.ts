// `support forward <id> [LOCAL:]PORT`: a device port on this machine's
// 127.0.0.1 until Ctrl-C. Each local connection is carried by its own
// `ssh -W 127.0.0.1:PORT` over the pinned hop from the server (through the
// first-hop master), which the device's permitopen governs; a session held open
// beside them (common/tool-sessions) puts the forward in the customer's timeline.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { forwardSessionArgv } from "@support-tunnel/common";
import type { Context } from "../context";
import { CliError, ExitCode } from "../errors";
import { reachDevice } from "../reach-device";
import { forwardUrl, parseForwardTarget } from "../forward-target";
import { forwardThroughServerArgs, throughServerArgs } from "../ssh/system-ssh";
import { resolveTunnelId } from "../tunnel-id";

export interface ForwardOptions {
  id: string;
  /** `[LOCAL:]PORT` as typed. */
  target: string;
  ctx: Context;
  /** Ends the forward (the CLI: Ctrl-C or SIGTERM). */
  signal?: AbortSignal;
}

/** How long the held session gets to close cleanly (its end recorded) before it is cut. */
const CLOSE_GRACE_MS = 5_000;

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      server.off("error", onError);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/** The asked local port, or the device's own when free, else any free one. */
async function listenLocally(
  server: Server,
  remotePort: number,
  localPort: number | null,
): Promise<number> {
  if (localPort !== null) {
    return listen(server, localPort).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(
        `cannot listen on 127.0.0.1:${localPort}: ${err.code === "EADDRINUSE" ? "it is in use" : err.message}`,
        ExitCode.Conflict,
      );
    });
  }
  return listen(server, remotePort).catch(() => listen(server, 0));
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** Stop signals: Ctrl-C and SIGTERM end the forward (the held session closes, recorded). */
function untilStopped(signal: AbortSignal | undefined): { stopped: Promise<void>; done(): void } {
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const onSignal = () => resolveStopped();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  signal?.addEventListener("abort", onSignal, { once: true });
  return {
    stopped,
    done: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      signal?.removeEventListener("abort", onSignal);
    },
  };
}

export async function forward({ id, target, ctx, signal }: ForwardOptions): Promise<void> {
  const { remotePort, localPort } = parseForwardTarget(target);
  const tunnelId = await resolveTunnelId(id, () => ctx.api());
  const { record, hop, tunnel, controlPath } = await reachDevice(ctx, tunnelId);
  // The api's view of the customer's choice refuses early; the device refuses anyway.
  if (tunnel && !tunnel.allowedPorts.includes(remotePort)) {
    const allowed = tunnel.allowedPorts.length ? tunnel.allowedPorts.join(", ") : "none but SSH";
    throw new CliError(
      `the customer did not allow port ${remotePort} on this device (allowed: ${allowed}); they choose the ports when they request support (\`support-device request --allow-port ${remotePort}\`)`,
      ExitCode.Refused,
    );
  }
  const stop = untilStopped(signal);
  const connections = new Set<ChildProcess>();
  const server = createServer({ allowHalfOpen: true });
  let held: ChildProcess | undefined;
  let refusedSaid = false;
  try {
    const boundPort = await listenLocally(server, remotePort, localPort);
    const sshOptions = { controlPath: controlPath ?? undefined };
    // The session that puts the forward in the timeline: it lasts as long as the forward.
    held = spawn(
      "ssh",
      throughServerArgs(
        record.server.ssh,
        record.knownHostsPath,
        hop,
        forwardSessionArgv(remotePort),
        false,
        sshOptions,
      ),
      { stdio: ["pipe", "ignore", "pipe"] },
    );
    let heldError = "";
    held.stderr!.on("data", (chunk: Buffer) => (heldError += chunk.toString("utf8")));
    const heldEnded = exited(held);
    server.on("connection", (socket: Socket) => {
      const child = spawn(
        "ssh",
        forwardThroughServerArgs(
          record.server.ssh,
          record.knownHostsPath,
          hop,
          remotePort,
          sshOptions,
        ),
        { stdio: ["pipe", "pipe", "pipe"] },
      );
      connections.add(child);
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      socket.pipe(child.stdin);
      child.stdout.pipe(socket);
      socket.on("error", () => child.kill());
      child.stdin.on("error", () => undefined);
      child.once("exit", (code) => {
        connections.delete(child);
        socket.end();
        if (code !== 0 && /prohibited/.test(stderr) && !refusedSaid) {
          refusedSaid = true;
          ctx.printer.warn(
            `the device refused port ${remotePort}: the customer did not allow it (the api said otherwise)`,
          );
        }
      });
    });
    ctx.printer.data(
      { tunnelId, port: remotePort, localPort: boundPort, url: forwardUrl(remotePort, boundPort) },
      () => forwardUrl(remotePort, boundPort),
    );
    ctx.printer.info(
      `forwarding device port ${remotePort} to 127.0.0.1:${boundPort}; Ctrl-C to stop`,
    );
    const outcome = await Promise.race([
      stop.stopped.then(() => "stopped" as const),
      heldEnded.then(() => "held-ended" as const),
    ]);
    if (outcome === "held-ended") {
      const detail = heldError.trim().split("\n").slice(-2).join(" / ");
      throw new CliError(
        `the forward's session on the device ended (ssh exit ${held.exitCode ?? "?"}${detail ? `: ${detail}` : ""}): the tunnel may be over, or the device unreachable`,
        ExitCode.SshFailure,
      );
    }
    ctx.printer.info("stopping the forward");
  } finally {
    stop.done();
    server.close();
    for (const child of connections) child.kill();
    if (held && held.exitCode === null && held.signalCode === null) {
      // EOF ends the session's `cat`: the session closes on the device, its end recorded.
      held.stdin!.end();
      const timer = setTimeout(() => held!.kill(), CLOSE_GRACE_MS);
      await exited(held);
      clearTimeout(timer);
    }
  }
}
