// The journal's events as zod schemas, and their types: loaded by what reads a
// journal (log, sessions, replay, the consent page), not by what only appends to
// one, such as the agent, which need not carry zod.
import { z } from "zod";
import { supportUserSchema, tunnelIdSchema } from "@support-tunnel/common";
import { JOURNAL_VERSION, STOPPERS } from "./journal";

/** A session's id: 12 hex digits, made by the session program. */
export const sessionIdSchema = z.string().regex(/^[0-9a-f]{12}$/, "must be 12 hex digits");

const isoTime = z.string().datetime({ offset: true, message: "must be an ISO 8601 time" });
/** Text that may come from anyone (an engineer, the api): kept as is, made printable when shown. */
const text = z.string();

const base = { v: z.literal(JOURNAL_VERSION), at: isoTime, tunnelId: tunnelIdSchema };

// Unknown fields pass through: a journal written by a later release still reads
// here, and `--json` shows what it holds.
export const journalEventSchema = z.discriminatedUnion("type", [
  z
    .object({
      ...base,
      type: z.literal("requested"),
      supportUser: supportUserSchema,
      description: text.nullable(),
      hostname: text.nullable(),
      /** What the customer granted, by this device's clock. */
      grantedUntil: isoTime,
      /** The customer's choices, when given (support case, earliest start, allowed engineers). */
      ticket: text.nullish(),
      startsAt: isoTime.nullish(),
      engineers: z.array(text).nullish(),
      /** Device ports open to forwards (`--allow-port`); absent or empty: none but SSH. */
      ports: z.array(z.number().int()).nullish(),
    })
    .passthrough(),
  z
    .object({
      ...base,
      type: z.literal("approved"),
      expiresAt: isoTime,
      /** The tunnel server, from the verified approval: `address:port`. */
      endpoint: text,
      /** The approving engineer and the ticket, when the approval names them. */
      engineer: text.nullish(),
      ticket: text.nullish(),
    })
    .passthrough(),
  z.object({ ...base, type: z.literal("refused"), reason: text }).passthrough(),
  z
    .object({
      ...base,
      /**
       * An approval this device acted on was taken back (the engineer's `create`
       * failed or timed out): what was set up for it is gone, and the tunnel waits
       * for a new approval. `engineer` is who the withdrawn approval named (from
       * the verified approval, not from the api).
       */
      type: z.literal("withdrawn"),
      engineer: text.nullish(),
    })
    .passthrough(),
  z
    .object({
      ...base,
      type: z.literal("connected"),
      supportUser: supportUserSchema,
      interface: text,
      address: text,
    })
    .passthrough(),
  z
    .object({
      ...base,
      type: z.literal("session-opened"),
      session: sessionIdSchema,
      supportUser: supportUserSchema,
      /** The engineer behind the session, when the device knows it. */
      engineer: text.nullish(),
      /** What the session asked for (SSH_ORIGINAL_COMMAND); null: a plain login shell. */
      command: z.string().nullable(),
      pty: z.boolean(),
      /** The SSH client's address (the tunnel server's). */
      from: text.nullable(),
    })
    .passthrough(),
  z
    .object({
      ...base,
      type: z.literal("session-closed"),
      session: sessionIdSchema,
      exitCode: z.number().int().nullable(),
      signal: text.nullable(),
      durationMs: z.number().nonnegative(),
      /** The session's sudo I/O log, relative to the tunnel's iolog_dir (`00/00/01`). */
      iolog: z
        .string()
        .regex(/^[0-9A-Z]{2}\/[0-9A-Z]{2}\/[0-9A-Z]{2}$/)
        .nullable(),
      /** Bytes the session sent back, where the session program counted them (a collection). */
      outputBytes: z.number().int().nonnegative().nullish(),
    })
    .passthrough(),
  z
    .object({
      ...base,
      type: z.literal("file-transfer"),
      session: sessionIdSchema,
      tool: z.enum(["sftp", "scp", "rsync"]),
      direction: z.enum(["upload", "download"]),
      /** The path on the device (rsync: the first path it was given). */
      path: text,
      bytes: z.number().int().nonnegative(),
      /** More than one: a summary of the session's files past the ones listed one by one. */
      files: z.number().int().positive().optional(),
    })
    .passthrough(),
  z
    .object({
      ...base,
      type: z.literal("stopped"),
      by: z.enum(STOPPERS),
      reason: text.nullable(),
    })
    .passthrough(),
]);

export type JournalEvent = z.infer<typeof journalEventSchema>;
