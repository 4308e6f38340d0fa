// Tunnel ids typed on the command line are validated before they reach a URL or a path.
import { tunnelIdSchema, type TunnelId } from "@support-tunnel/common";
import { CliError, ExitCode } from "./errors";

export function parseTunnelId(value: string): TunnelId {
  const parsed = tunnelIdSchema.safeParse(value);
  if (!parsed.success)
    throw new CliError(
      `tunnel id ${JSON.stringify(value)} must be a lowercase UUID`,
      ExitCode.Usage,
    );
  return parsed.data;
}
