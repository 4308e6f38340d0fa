// `support engineers [list]`, `support engineers add` and `support engineers
// revoke`: admins manage who may use support, through the api (which decides
// the rules: admin only, never the last admin).
import {
  engineerNameSchema,
  parseWire,
  relativeTime,
  renderTable,
  roleSchema,
  type CreateEngineerResponse,
  type EngineerList,
} from "@support-tunnel/common";
import type { Context } from "../context";
import { CliError, ExitCode } from "../errors";

const engineerName = (s: string) => parseWire(engineerNameSchema, s, "engineer");

export async function engineersList(opts: {
  ctx: Context;
  now?: () => number;
}): Promise<EngineerList> {
  const list = await opts.ctx.api().listEngineers();
  const at = (opts.now ?? Date.now)();
  opts.ctx.printer.data(list, () =>
    list.engineers.length === 0
      ? "no engineers"
      : renderTable(
          ["ENGINEER", "ROLE", "CREATED", "BY", "REVOKED"],
          list.engineers.map((e) => [
            e.name,
            e.role,
            relativeTime(e.createdAt, at),
            e.createdBy ?? "-",
            e.revokedAt ? `${relativeTime(e.revokedAt, at)} by ${e.revokedBy ?? "?"}` : "-",
          ]),
        ),
  );
  return list;
}

export async function engineersAdd(opts: {
  name: string;
  role: string;
  ctx: Context;
}): Promise<CreateEngineerResponse> {
  const name = engineerName(opts.name);
  const role = parseWire(roleSchema, opts.role, "role");
  const answer = await opts.ctx.api().createEngineer({ name, role });
  // The token alone on stdout (or the whole answer under --json), so it can be piped.
  opts.ctx.printer.data(answer, () => answer.token);
  opts.ctx.printer.info(
    `created ${answer.name} as ${answer.role}: this is their token, shown only now. Hand it over ` +
      `privately (not in a ticket or chat log); they run \`support login --api URL --with-token\` ` +
      `and paste it on stdin. \`support engineers revoke ${answer.name}\` ends it.`,
  );
  return answer;
}

/** Asks a yes/no question on the terminal; true only for an answer starting with y. */
export type Confirm = (question: string) => Promise<boolean>;

export async function engineersRevoke(opts: {
  name: string;
  yes?: boolean;
  ctx: Context;
  confirm?: Confirm;
}): Promise<void> {
  const { ctx } = opts;
  const name = engineerName(opts.name);
  if (!opts.yes) {
    // A script would hang on a question, or take whatever its stdin holds for an answer.
    if (!ctx.env.stdinIsTty)
      throw new CliError(
        `not revoking ${name} without confirmation: pass --yes, or run on a terminal to be asked`,
        ExitCode.Usage,
      );
    const confirm = opts.confirm ?? confirmOnTerminal;
    if (
      !(await confirm(
        `revoke ${name}? Their token stops working and every live tunnel they approved ends [y/N] `,
      ))
    )
      throw new CliError(`${name} not revoked`, ExitCode.Failure);
  }
  await ctx.api().revokeEngineer(name);
  ctx.printer.data({ name, revoked: true }, () => `revoked ${name}`);
}

async function confirmOnTerminal(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const interrupted = new Promise<never>((_, reject) =>
    rl.once("SIGINT", () => reject(new CliError("interrupted", ExitCode.Interrupted))),
  );
  try {
    const answer = await Promise.race([rl.question(question), interrupted]);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
