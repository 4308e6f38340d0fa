// `support connect <id>`: an interactive root shell on the device. OpenSSH gets
// the terminal (stdio inherited, `-t` on both hops), so the PTY and window
// resizes are passed on end to end.
import { runSystemSsh } from "../adapters";
import type { Context } from "../context";
import { CliError, ExitCode, ExitWith } from "../errors";
import { reachDevice } from "../reach-device";
import { sessionBanner, warnBeforeExpiry, whyTunnelEnded } from "../session-ending";
import { throughServerArgs } from "../ssh/system-ssh";
import { resolveTunnelId } from "../tunnel-id";

export interface ConnectOptions {
  id: string;
  ctx: Context;
}

export async function connect({ id, ctx }: ConnectOptions): Promise<never> {
  const tunnelId = await resolveTunnelId(id, () => ctx.api());
  const { record, hop, tunnel, controlPath } = await reachDevice(ctx, tunnelId);
  const args = throughServerArgs(
    record.server.ssh,
    record.knownHostsPath,
    hop,
    ["sudo", "-i"],
    true,
    { controlPath: controlPath ?? undefined },
  );
  // The banner and the warnings are a courtesy: a tunnel the api cannot show still connects.
  let cancelWarnings = () => {};
  if (tunnel) {
    ctx.printer.info(sessionBanner(tunnel, Date.now()));
    cancelWarnings = warnBeforeExpiry(tunnel.expiresAt, (text) => process.stderr.write(text));
  }
  let code: number;
  try {
    code = await runSystemSsh(args);
  } finally {
    cancelWarnings();
  }
  if (code !== 0) {
    const ended = await whyTunnelEnded(ctx.api({ retries: 1, timeoutMs: 5_000 }), tunnelId);
    if (ended)
      throw new CliError(
        `the session was cut: ${ended}`,
        code === 255 ? ExitCode.SshFailure : code,
      );
  }
  if (code === 255) {
    throw new CliError(
      `ssh to the device through ${record.server.instanceId} ended with exit 255: the connection failed or was cut, or the device's SSH host key is not the one pinned at create (see ssh's message above)`,
      ExitCode.SshFailure,
    );
  }
  throw new ExitWith(code);
}
