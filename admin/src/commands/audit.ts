// `support audit <id>`: the append-only log of who did what to a tunnel.
// `support audit` (admins): the whole log, tunnel and organization events
// (engineers, customers, groups), newest first, a page or every page of it.
import {
  MAX_AUDIT_PAGE,
  auditActionFilterSchema,
  engineerNameSchema,
  fitToWidth,
  parseWire,
  relativeTime,
  renderTable,
  type AuditEntry,
} from "@support-tunnel/common";
import type { Context } from "../context";
import { CliError, ExitCode } from "../errors";
import { resolveTunnelId } from "../tunnel-id";

export interface AuditOptions {
  /** A tunnel's trail; without it, the whole log. */
  id?: string;
  /** Whole log: only what this engineer did. */
  engineer?: string;
  /** Whole log: only this action or family of actions (`engineer`, `tunnel.stop`). */
  action?: string;
  /** Whole log: the newest N entries (default DEFAULT_LOG_ENTRIES). */
  limit?: string;
  /** Whole log: every entry, following the api's pages to the end. */
  all?: boolean;
  ctx: Context;
  now?: () => number;
}

/** Entries `support audit` shows without --limit or --all. */
export const DEFAULT_LOG_ENTRIES = 50;

export async function audit(options: AuditOptions): Promise<AuditEntry[]> {
  const { id, ctx } = options;
  if (id === undefined) return auditLog(options);
  const logOnly = (["engineer", "action", "limit", "all"] as const).filter(
    (k) => options[k] !== undefined,
  );
  if (logOnly.length > 0)
    throw new CliError(
      `--${logOnly[0]} is for the whole log (support audit without an id), not one tunnel's`,
      ExitCode.Usage,
    );
  const { entries } = await ctx.api().getAudit(await resolveTunnelId(id, () => ctx.api()));
  ctx.printer.data(entries, () =>
    renderTable(
      ["AT", "ACTOR", "ACTION", "FROM", "DETAIL"],
      entries.map((e) => [e.at, e.actor, e.action, e.clientAddress ?? "-", e.detail ?? ""]),
    ),
  );
  return entries;
}

/** The newest `max` entries, or every one with --all. */
function readLimit(options: AuditOptions): number | undefined {
  if (options.all && options.limit !== undefined)
    throw new CliError("--all and --limit: choose one", ExitCode.Usage);
  if (options.all) return undefined;
  if (options.limit === undefined) return DEFAULT_LOG_ENTRIES;
  if (!/^[0-9]{1,7}$/.test(options.limit) || Number(options.limit) < 1)
    throw new CliError(`--limit must be a whole number of entries, at least 1`, ExitCode.Usage);
  return Number(options.limit);
}

async function auditLog(options: AuditOptions): Promise<AuditEntry[]> {
  const { ctx } = options;
  const max = readLimit(options);
  const engineer =
    options.engineer === undefined
      ? undefined
      : parseWire(engineerNameSchema, options.engineer, "--engineer");
  const action =
    options.action === undefined
      ? undefined
      : parseWire(auditActionFilterSchema, options.action, "--action");
  // One entry more than shown tells whether older ones are left out.
  const found = await ctx.api().listAllAudit({
    engineer,
    action,
    limit: MAX_AUDIT_PAGE,
    max: max === undefined ? undefined : max + 1,
  });
  const entries = max === undefined ? found : found.slice(0, max);
  const at = (options.now ?? Date.now)();
  ctx.printer.data({ entries }, () =>
    entries.length === 0
      ? "no audit entries"
      : fitToWidth(
          renderTable(
            ["WHEN", "AT", "ACTOR", "ACTION", "TUNNEL", "FROM", "DETAIL"],
            entries.map((e) => [
              relativeTime(e.at, at),
              e.at,
              e.actor,
              e.action,
              e.tunnelId ?? "-",
              e.clientAddress ?? "-",
              e.detail ?? "",
            ]),
          ),
          ctx.terminalColumns,
        ),
  );
  if (found.length > entries.length)
    ctx.printer.info(`older entries left out: --limit N shows more, --all every one`);
  return entries;
}
