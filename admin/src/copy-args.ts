// `support cp <id> SRC... DST`: which side is the device (`:PATH`) and the scp
// arguments for it. Pure, so the rules are tested on their own.
import { CliError, ExitCode } from "./errors";

export interface CopyPlan {
  direction: "upload" | "download";
  /** scp's arguments for the paths: local ones made plain paths, device ones `HOST:PATH`. */
  scpPaths: string[];
}

/** A local path scp cannot take for `host:path` or an option: `./` before a relative one. */
function localPath(p: string): string {
  if (p === "") throw new CliError("an empty path is not a file", ExitCode.Usage);
  return /^(\/|\.\.?(\/|$))/.test(p) ? p : `./${p}`;
}

export function planCopy(paths: readonly string[], hostAlias: string): CopyPlan {
  if (paths.length < 2)
    throw new CliError(
      "give at least one source and a destination, e.g. `support cp ID ./fix.sh :/tmp/` or `support cp ID :/var/log/syslog .`",
      ExitCode.Usage,
    );
  for (const p of paths)
    if (p.includes("\0") || /[\r\n]/.test(p))
      throw new CliError(`a path cannot hold a line break: ${JSON.stringify(p)}`, ExitCode.Usage);
  const remote = (p: string) => p.startsWith(":");
  const sources = paths.slice(0, -1);
  const destination = paths[paths.length - 1]!;
  const devicePath = (p: string) => {
    const rest = p.slice(1);
    if (rest === "")
      throw new CliError("give the device's path after `:`, e.g. `:/tmp/`", ExitCode.Usage);
    return `${hostAlias}:${rest}`;
  };
  if (remote(destination)) {
    if (sources.some(remote))
      throw new CliError(
        "only one side may be the device: the sources or the destination (`:` marks the device's paths)",
        ExitCode.Usage,
      );
    return { direction: "upload", scpPaths: [...sources.map(localPath), devicePath(destination)] };
  }
  if (!sources.every(remote))
    throw new CliError(
      sources.some(remote)
        ? "the sources must all be on the device or all on this machine"
        : "one side must be the device: mark its paths with `:`, e.g. `:/tmp/`",
      ExitCode.Usage,
    );
  return { direction: "download", scpPaths: [...sources.map(devicePath), localPath(destination)] };
}
