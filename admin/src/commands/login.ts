// `support login`: reads the token (stdin or a hidden prompt, never argv), checks
// it against the api, then stores url and token.
import { engineerTokenSchema, SupportApiClient, type Whoami } from "@support-tunnel/common";
import { promptHidden, readAllStdin } from "../adapters";
import {
  checkProviderFlags,
  sshHostSchema,
  urlSchema,
  writeConfigFile,
  type AdminConfig,
} from "../config";
import type { Context } from "../context";
import { CliError, ExitCode } from "../errors";

export interface LoginOptions {
  api: string;
  /** `--token VALUE`: refused, a token in argv is seen by `ps` and kept in shell history. */
  token?: string;
  /** `--with-token`: the token is read from stdin. */
  withToken?: boolean;
  identity?: string;
  lab?: string;
  sshHost?: string;
  ctx: Context;
  /** The client the token is checked with; one retry only, the engineer is waiting. */
  makeClient?: (url: string, token: string) => Pick<SupportApiClient, "whoami">;
  readStdin?: () => Promise<string>;
  prompt?: (message: string) => Promise<string>;
}

export const TOKEN_IN_ARGV =
  "--token puts your token where `ps` and shell history see it: pipe it in with --with-token (e.g. `support login --api URL --with-token < token-file`), or leave both out to be asked for it without echo";

/** The token from stdin (`--with-token`) or a hidden prompt on a terminal. */
async function readToken(options: LoginOptions): Promise<string> {
  const { ctx } = options;
  if (options.token !== undefined) throw new CliError(TOKEN_IN_ARGV, ExitCode.Usage);
  if (options.withToken) return (options.readStdin ?? readAllStdin)();
  if (!ctx.env.stdinIsTty) {
    throw new CliError(
      "no token: pass --with-token and the token on stdin, or run on a terminal to be asked for it",
      ExitCode.Usage,
    );
  }
  return (options.prompt ?? ((message) => promptHidden(message)))("engineer token (ste_...)");
}

export async function login(options: LoginOptions): Promise<Whoami> {
  const { ctx } = options;
  const makeClient =
    options.makeClient ??
    ((baseUrl: string, token: string) => new SupportApiClient({ baseUrl, token, retries: 1 }));
  if (!options.api) throw new CliError("--api URL is required", ExitCode.Usage);
  // Every flag is checked before the token is read or the api asked: a typo is
  // a usage error that costs nothing.
  if (!urlSchema.safeParse(options.api).success)
    throw new CliError(
      `--api ${JSON.stringify(options.api)} must be an http or https URL, e.g. https://support.example.com`,
      ExitCode.Usage,
    );
  if (options.sshHost !== undefined && !sshHostSchema.safeParse(options.sshHost).success)
    throw new CliError(
      `--ssh-host ${JSON.stringify(options.sshHost)} must be user@host or user@host:port`,
      ExitCode.Usage,
    );
  checkProviderFlags({ lab: options.lab });
  const token = (await readToken(options)).trim();
  // Checked before it is sent anywhere; the message never repeats the value.
  if (!engineerTokenSchema.safeParse(token).success)
    throw new CliError("the token must be an engineer token (ste_...)", ExitCode.Usage);
  const me = await makeClient(options.api, token).whoami();
  const previous = ctx.config.file;
  const next: AdminConfig = {
    ...(previous ?? {}),
    apiUrl: options.api,
    token,
  };
  if (options.identity) next.identity = options.identity;
  if (options.lab) next.netns = { ...next.netns, lab: options.lab };
  if (options.sshHost) next.ssh = { ...next.ssh, host: options.sshHost };
  try {
    await writeConfigFile(ctx.config.path, next);
  } catch (err) {
    if (err instanceof Error && err.name === "ValidationError") {
      throw new CliError(`cannot log in: ${err.message}`, ExitCode.Usage);
    }
    throw err;
  }
  ctx.printer.data(
    { name: me.name, role: me.role, api: options.api, config: ctx.config.path },
    () => `logged in to ${options.api} as ${me.name} (${me.role}); config in ${ctx.config.path}`,
  );
  return me;
}
