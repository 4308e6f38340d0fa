// The sessions `support forward` and `support collect` open on a device, as the
// words of their command: `support` builds them, the device's session record
// recognises them and names them for the customer ("alice forwarded port 80").
// The words are real commands (the session program runs them like any other),
// marked by an environment variable only these tools set. Pure.

/** `support forward`: a session held open (cat waits on its stdin) while the forward lasts. */
export const FORWARD_MARKER = "SUPPORT_TUNNEL_FORWARD";
/** `support collect`: the collection script, sent on stdin, run by bash as root. */
export const COLLECT_MARKER = "SUPPORT_TUNNEL_COLLECT";

export type ToolSession = { kind: "forward"; port: number } | { kind: "collect"; version: number };

/** The command of a forward's session: `env SUPPORT_TUNNEL_FORWARD=80 cat`. */
export function forwardSessionArgv(port: number): string[] {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a port: ${port}`);
  return ["env", `${FORWARD_MARKER}=${port}`, "cat"];
}

/** The command of a collection: `sudo -n -- env SUPPORT_TUNNEL_COLLECT=1 bash -s` (the script on stdin). */
export function collectSessionArgv(version: number): string[] {
  if (!Number.isInteger(version) || version < 1)
    throw new Error(`not a script version: ${version}`);
  return ["sudo", "-n", "--", "env", `${COLLECT_MARKER}=${version}`, "bash", "-s"];
}

function markerValue(word: string | undefined, marker: string): number | null {
  const m = word === undefined ? null : new RegExp(`^${marker}=([1-9][0-9]{0,4})$`).exec(word);
  return m ? Number(m[1]) : null;
}

/** What a session's words are, when they are exactly one of the tools' commands; null otherwise. */
export function parseToolSession(words: readonly string[]): ToolSession | null {
  if (words.length === 3 && words[0] === "env" && words[2] === "cat") {
    const port = markerValue(words[1], FORWARD_MARKER);
    if (port !== null && port <= 65535) return { kind: "forward", port };
  }
  if (
    words.length === 7 &&
    words[0] === "sudo" &&
    words[1] === "-n" &&
    words[2] === "--" &&
    words[3] === "env" &&
    words[5] === "bash" &&
    words[6] === "-s"
  ) {
    const version = markerValue(words[4], COLLECT_MARKER);
    if (version !== null) return { kind: "collect", version };
  }
  return null;
}
