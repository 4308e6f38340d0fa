// Journal events the specs write, as the agent writes them.
import { stampEvent, type JournalEventOf } from "../session-record/journal";

/** The agent's record of a verified approval naming `engineer` (null: it names none). */
export function approvedEvent(
  tunnelId: string,
  engineer: string | null,
  at: number,
): JournalEventOf<"approved"> {
  return stampEvent(
    {
      type: "approved",
      tunnelId,
      expiresAt: "2030-01-01T12:00:00Z",
      endpoint: "203.0.113.7:51820",
      engineer,
    },
    at,
  ) as JournalEventOf<"approved">;
}
