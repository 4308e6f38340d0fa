// What `support forward <id> [LOCAL:]PORT` asks for, and the URL to print for
// it. Pure, so hostile input is tested without a socket.
import { allowedPortSchema } from "@support-tunnel/common";
import { CliError, ExitCode } from "./errors";

export interface ForwardTarget {
  /** The device port (on the device's 127.0.0.1). */
  remotePort: number;
  /** The local port asked for; null: the same as the device's if free, else any free one. */
  localPort: number | null;
}

function port(text: string, what: string): number {
  const n = /^[0-9]{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new CliError(
      `${what} must be a port number, 1 to 65535: ${JSON.stringify(text)}`,
      ExitCode.Usage,
    );
  return n;
}

/** `80` or `8080:80`; exit 2 for anything else, and for the device's SSH port. */
export function parseForwardTarget(text: string): ForwardTarget {
  const parts = text.split(":");
  if (parts.length > 2)
    throw new CliError(
      `give [LOCAL:]PORT, e.g. 80 or 8080:80, not ${JSON.stringify(text)}`,
      ExitCode.Usage,
    );
  const remotePort = port(parts.at(-1)!, "the device port");
  if (!allowedPortSchema.safeParse(remotePort).success)
    throw new CliError(
      "port 22 is the device's SSH: use `support connect` or `support command`",
      ExitCode.Usage,
    );
  return { remotePort, localPort: parts.length === 2 ? port(parts[0]!, "the local port") : null };
}

const HTTP_PORTS = new Set([80, 8000, 8080, 8081, 3000, 5000, 9000]);
const HTTPS_PORTS = new Set([443, 8443, 9443]);

/** `http://127.0.0.1:8080/` for a web port of the device, else `127.0.0.1:PORT`. */
export function forwardUrl(remotePort: number, localPort: number): string {
  if (HTTP_PORTS.has(remotePort)) return `http://127.0.0.1:${localPort}/`;
  if (HTTPS_PORTS.has(remotePort)) return `https://127.0.0.1:${localPort}/`;
  return `127.0.0.1:${localPort}`;
}
