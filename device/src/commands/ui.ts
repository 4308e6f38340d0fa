// `support-device ui`: the local consent page until SIGTERM/SIGINT; with
// --hash-password, the hash of a password for the config file instead.
import type { CommandContext } from "../context";
import { UsageError } from "../errors";
import { hashPassword } from "../ui/password";
import { serveConsentPage } from "../ui/serve-consent-page";

export interface UiOptions {
  listen?: string;
  hashPassword?: boolean;
  /** Where --hash-password reads the password; stdin when absent. */
  input?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
}

/** Shorter than this is too easy to guess for a page that can let support in. */
const MIN_PASSWORD_LENGTH = 10;

export async function ui(ctx: CommandContext, options: UiOptions): Promise<void> {
  if (options.hashPassword) return printPasswordHash(ctx, options.input ?? process.stdin);
  const connecting = new Set<Promise<unknown>>();
  const page = await serveConsentPage(ctx, {
    listen: options.listen,
    // Like `request --wait`: a tunnel asked for here connects once approved, agent or not.
    onRequested: (id) => {
      const watch = ctx.agent
        .watch(id, ctx.signal, { untilUp: true })
        .finally(() => connecting.delete(watch));
      connecting.add(watch);
    },
  });
  ctx.printer.info("Open it in a browser on this machine; Ctrl-C stops serving it.");
  try {
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) return resolve();
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
  } finally {
    await page.close();
    await Promise.allSettled(connecting);
  }
}

async function printPasswordHash(
  ctx: CommandContext,
  input: NonNullable<UiOptions["input"]>,
): Promise<void> {
  if (input.isTTY) ctx.printer.info("Password for the consent page (not shown):");
  const password = await readLine(input);
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new UsageError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  const passwordHash = await hashPassword(password);
  ctx.printer.data({ passwordHash }, () => passwordHash);
  ctx.printer.info(
    'Put it in the config file (/etc/support-tunnel/device.json) as "ui": { "passwordHash": "..." }.',
  );
}

/** The first line of `input`; on a terminal, read without echo (Backspace works, Ctrl-C stops). */
async function readLine(input: NonNullable<UiOptions["input"]>): Promise<string> {
  const raw = input.isTTY === true && typeof input.setRawMode === "function";
  if (raw) input.setRawMode!(true);
  let line = "";
  try {
    for await (const chunk of input) {
      for (const ch of String(chunk)) {
        if (ch === "\r" || ch === "\n") return line;
        if (raw && ch === "\u0003") throw new UsageError("interrupted");
        if (raw && (ch === "\u007f" || ch === "\b")) line = line.slice(0, -1);
        else line += ch;
      }
    }
    return line;
  } finally {
    if (raw) input.setRawMode!(false);
  }
}
