// The device's config file as zod schemas, and its type: the contract that
// config.ts's hand check keeps to (config.spec.ts runs both on one table). The
// check is by hand because the agent reads the file at every start, and zod
// would cost it ~12 MiB.
import { z } from "zod";
import { descriptionSchema, hostnameSchema, ttlSecondsSchema } from "@support-tunnel/common";
import { isListenAddress } from "./ui/listen-address";
import { PHC } from "./ui/password";
import { isSafePath } from "./session-record/access";

export const passwordHashSchema = z
  .string({ error: "must be a string" })
  .regex(PHC, "must be a hash printed by `support-device ui --hash-password`")
  .refine(
    (s) => {
      const m = PHC.exec(s);
      if (!m) return true; // the regex has said what is wrong
      const [ln, r, p] = m.slice(1, 4).map(Number) as [number, number, number];
      return ln >= 14 && ln <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16;
    },
    { message: "must use an scrypt cost of ln 14 to 20, r 1 to 32, p 1 to 16" },
  );

/** The log dir ends up in a sudoers file and an authorized_keys command: only plain path characters. */
const logDirSchema = z
  .string()
  .refine(isSafePath, "must be an absolute path of letters, digits and ._+-/ (no ..)");

const hookSchema = z
  .array(z.string().min(1, "must not be empty"), { error: "must be an argv array" })
  .min(1, "must name a program")
  // An empty argv has been refused by min(1); the refine runs all the same, so it must not throw.
  .refine(
    (argv) => argv.length === 0 || argv[0]!.startsWith("/"),
    "must start with an absolute path to the program",
  );

export const deviceConfigSchema = z
  .object({
    apiUrl: z.string().url("must be a URL").optional(),
    enrollmentSecret: z.string().min(1).max(512).optional(),
    description: descriptionSchema.optional(),
    ttlSeconds: ttlSecondsSchema.optional(),
    hooks: z
      .object({
        preUp: hookSchema.optional(),
        postUp: hookSchema.optional(),
        preDown: hookSchema.optional(),
        postDown: hookSchema.optional(),
      })
      .strict()
      .optional(),
    hookTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
    /** The consent page (`support-device ui`, `agent --ui`). */
    ui: z
      .object({
        listen: z
          .string()
          .refine(isListenAddress, "must be an IP address and port, e.g. 127.0.0.1:7480")
          .optional(),
        passwordHash: passwordHashSchema.optional(),
        hostNames: z.array(hostnameSchema).max(16).optional(),
      })
      .strict()
      .optional(),
    /** Where the session record is kept (default /var/log/support-tunnel). */
    logDir: logDirSchema.optional(),
    sessionRetentionDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();
export type DeviceConfigFile = z.infer<typeof deviceConfigSchema>;
