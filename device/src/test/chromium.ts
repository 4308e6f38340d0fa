// Real Chromium for the consent page's browser tests: Debian's /usr/bin/chromium
// driven by playwright-core (which downloads no browser), in a fresh profile; and,
// for a page that listens on a lab host's loopback, inside that host's network
// namespace.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Quiet and self-contained: no sandbox (root in a container), no GPU, no calls home. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function missingChromium(): string | null {
  return fs.existsSync(CHROMIUM) ? null : `needs ${CHROMIUM} (run npm run setup as root)`;
}

export interface LaunchChromiumOptions {
  /** Run Chromium in the network namespace of this process (a lab host's holder). */
  netnsOfPid?: number;
  /** `--host-resolver-rules`, e.g. `MAP rebind.test 127.0.0.1`: a name that resolves here. */
  hostResolverRules?: string;
}

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<Chromium> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "st-chromium-"));
  let executablePath = CHROMIUM;
  if (options.netnsOfPid !== undefined) {
    // Playwright talks to the browser over inherited pipes, which nsenter keeps.
    executablePath = path.join(dir, "chromium-in-netns");
    fs.writeFileSync(
      executablePath,
      `#!/bin/sh\nexec nsenter --target=${options.netnsOfPid} --net -- ${CHROMIUM} "$@"\n`,
      { mode: 0o700 },
    );
  }
  try {
    const context = await chromium.launchPersistentContext(path.join(dir, "profile"), {
      executablePath,
      headless: true,
      args: [
        ...FLAGS,
        ...(options.hostResolverRules
          ? [`--host-resolver-rules=${options.hostResolverRules}`]
          : []),
      ],
      viewport: { width: 900, height: 1000 },
      timeout: 60_000,
    });
    return {
      context,
      close: async () => {
        await context.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
