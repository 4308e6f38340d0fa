// `support login`: checks the token against the api, then stores url and token.
import { SupportApiClient, type Whoami } from "@support-tunnel/common";
import { writeConfigFile, type AdminConfig } from "../config";
import type { Context } from "../context";
import { CliError, ExitCode } from "../errors";

export interface LoginOptions {
  api: string;
  token: string;
  identity?: string;
  lab?: string;
  sshHost?: string;
  ctx: Context;
  /** The client the token is checked with; one retry only, the engineer is waiting. */
  makeClient?: (url: string, token: string) => Pick<SupportApiClient, "whoami">;
}

export async function login(options: LoginOptions): Promise<Whoami> {
  const { ctx } = options;
  const makeClient =
    options.makeClient ??
    ((baseUrl: string, token: string) => new SupportApiClient({ baseUrl, token, retries: 1 }));
  if (!options.api) throw new CliError("--api URL is required", ExitCode.Usage);
  if (!options.token) throw new CliError("--token TOKEN is required", ExitCode.Usage);
  const me = await makeClient(options.api, options.token).whoami();
  const previous = ctx.config.file;
  const next: AdminConfig = {
    ...(previous ?? {}),
    apiUrl: options.api,
    token: options.token,
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
