// The roles an engineer can hold in a group, apart from access.ts so a CLI can
// offer them as choices without loading zod and the schemas.
export const GROUP_ROLES = ["owner", "gatekeeper", "aclkeeper", "member", "guest"] as const;
export type GroupRole = (typeof GROUP_ROLES)[number];
