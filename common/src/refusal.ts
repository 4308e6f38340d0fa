// Why a device refused an approval, as it tells the api: a kind, never free
// text (the device has nothing more to say to the api, and the api shows it to
// engineers), and the one sentence each side prints for it.

export const APPROVAL_REFUSAL_KINDS = [
  "psk",
  "server-key",
  "malformed",
  "version",
  "expired",
  "engineer",
  "ticket",
] as const;
export type ApprovalRefusalKind = (typeof APPROVAL_REFUSAL_KINDS)[number];

/** What the engineer is told: what went wrong, and what to do about it. */
const FOR_ENGINEER: Record<ApprovalRefusalKind, string> = {
  psk: "the preshared key does not match; ask the customer to read it again",
  "server-key":
    "the approval was not sealed by the server key it names (changed on the way); create it again",
  malformed: "the approval reached it malformed (changed on the way); create it again",
  version:
    "it does not accept this approval's version; update support and support-device to the same release",
  expired: "the approval had expired when it arrived; check this machine's and the device's clocks",
  engineer: "the customer allowed other engineers to take this tunnel, not you",
  ticket: "the approval names another ticket than the customer's; check the case with the customer",
};

/** "the device refused the approval: the preshared key does not match; ask ..." */
export function describeRefusal(kind: ApprovalRefusalKind): string {
  return `the device refused the approval: ${FOR_ENGINEER[kind]}`;
}
