// Tunnel ids typed on the command line, in any form a person may have (the UUID,
// the phone code support-device prints, or the start of either), are checked and
// resolved before they reach a URL or a path.
import {
  CodeError,
  parseTunnelIdInput,
  resolveTunnelPrefix,
  TunnelPrefixError,
  type SupportApiClient,
  type TunnelId,
} from "@support-tunnel/common";
import { CliError, ExitCode } from "./errors";

/** A whole tunnel id (UUID or code, any case); a prefix is refused here. */
export function parseTunnelId(value: string): TunnelId {
  const input = readInput(value);
  if (input.kind === "id") return input.id;
  throw new CliError(
    `tunnel id ${JSON.stringify(value)} must be a UUID or the tunnel's code`,
    ExitCode.Usage,
  );
}

/**
 * A tunnel id in any form. A start of an id or a code is looked up among the
 * api's tunnels: exit 5 when none has it, 2 when several do (listing them).
 */
export async function resolveTunnelId(
  value: string,
  api: () => Pick<SupportApiClient, "listAllTunnels">,
): Promise<TunnelId> {
  const input = readInput(value);
  if (input.kind === "id") return input.id;
  const tunnels = await api().listAllTunnels();
  try {
    return resolveTunnelPrefix(
      input,
      tunnels.map((t) => t.tunnelId),
    );
  } catch (err) {
    if (err instanceof TunnelPrefixError)
      throw new CliError(
        err.message,
        err.matches.length === 0 ? ExitCode.NotFound : ExitCode.Usage,
      );
    throw err;
  }
}

function readInput(value: string) {
  try {
    return parseTunnelIdInput(value);
  } catch (err) {
    if (err instanceof CodeError) throw new CliError(err.message, ExitCode.Usage);
    throw err;
  }
}
