// The one place production code reaches the lab (`@support-tunnel/lab`, a
// development package that an installed CLI does not have): the netns provider's
// way to open a lab, loaded on first use so no other command pays for it.
import { CliError, ExitCode } from "./errors";
import type { NetnsLab, OpenNetnsLab } from "./providers/netns";

const LAB_PACKAGE = "@support-tunnel/lab";
/**
 * The lab's module that opens labs, not the package's index: the index also loads
 * the api process and the rewriting proxy (pg with them), ~50 ms of every create.
 */
const LAB_MODULE = `${LAB_PACKAGE}/dist/lab`;

interface LabPackage {
  openLab(name: string): Promise<NetnsLab>;
}

/** An OpenNetnsLab over the lab package, resolved by `load` (node's require by default). */
export function labOpener(load: (id: string) => unknown = require): OpenNetnsLab {
  return async (name) => {
    let lab: LabPackage;
    try {
      lab = load(LAB_MODULE) as LabPackage;
    } catch (err) {
      const missing =
        (err as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" &&
        (err as Error).message.includes(`'${LAB_MODULE}'`);
      if (!missing) throw err;
      throw new CliError(
        `the netns provider needs the lab (${LAB_PACKAGE}), which only a development checkout has (npm ci, then npm run build); use --provider ssh or gcp`,
        ExitCode.Usage,
      );
    }
    return lab.openLab(name);
  };
}

export const openLab: OpenNetnsLab = labOpener();
