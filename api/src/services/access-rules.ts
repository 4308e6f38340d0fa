// The role matrix of groups, as pure functions: who may change what in a group.
// Global admins are the superowners; below them the global role is the ceiling
// (a viewer changes nothing, whatever their role in a group); then owners manage
// everything in their group, gatekeepers its members and guests, aclkeepers its
// customers. Members and guests use the access and manage nothing.
import { ROLE_RANK, type EngineerRole, type GroupRole } from "@support-tunnel/common";

export interface GroupActor {
  name: string;
  role: EngineerRole;
  /** Their live role in the group, or null (none, or expired). */
  groupRole: GroupRole | null;
}

/** Why `actor` may not give or take `target` in `group`, or null when they may. */
export function memberChangeRefusal(
  actor: GroupActor,
  group: string,
  target: GroupRole,
): string | null {
  if (actor.role === "admin") return null;
  if (ROLE_RANK[actor.role] < ROLE_RANK.operator) {
    return `${actor.name} is a ${actor.role}: changing a group needs the operator role`;
  }
  if (actor.groupRole === "owner") return null;
  if (target === "member" || target === "guest") {
    return actor.groupRole === "gatekeeper"
      ? null
      : `${actor.name} is not a gatekeeper of ${group}`;
  }
  return `${actor.name} is not an owner of ${group}`;
}

/** Why `actor` may not add or remove customers of `group`, or null when they may. */
export function customerChangeRefusal(actor: GroupActor, group: string): string | null {
  if (actor.role === "admin") return null;
  if (ROLE_RANK[actor.role] < ROLE_RANK.operator) {
    return `${actor.name} is a ${actor.role}: changing a group needs the operator role`;
  }
  if (actor.groupRole === "owner" || actor.groupRole === "aclkeeper") return null;
  return `${actor.name} is not an aclkeeper of ${group}`;
}

/** The words for the access an approval or a stop lacks, for a 403. */
export function missingUseMessage(engineer: string, customer: string): string {
  return `${engineer} has no owner, member or guest role in a group serving ${customer}`;
}
