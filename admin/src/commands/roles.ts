// The engineer's role, checked before a command does anything the api would
// refuse it anyway: a viewer's `create` must not build a server first.
import { ROLE_RANK, type EngineerRole, type Whoami } from "@support-tunnel/common";
import { CliError, ExitCode } from "../errors";

/** `me`, when their role is at least `role`; otherwise exit 3 saying who they are and what it needs. */
export function requireRole(me: Whoami, role: EngineerRole, what: string): Whoami {
  if (ROLE_RANK[me.role] >= ROLE_RANK[role]) return me;
  throw new CliError(
    `${what} needs the ${role} role, and ${me.name} is ${me.role === "admin" || me.role === "operator" ? "an" : "a"} ${me.role}: ask an admin for it; nothing was made`,
    ExitCode.Refused,
  );
}
