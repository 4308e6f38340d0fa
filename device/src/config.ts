// The device's settings: flags over environment over the root-owned config file.
// This is the only module that reads process.env. The config file and every hook
// it names must be owned by root and writable by nobody else: they decide what
// runs as root, so a file someone else can edit is a way to root.
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { z } from "zod";
import {
  descriptionSchema,
  hostnameSchema,
  parseWire,
  ttlSecondsSchema,
  ValidationError,
} from "@support-tunnel/common";
import { DeviceError, UsageError } from "./errors";
import { isListenAddress } from "./ui/listen-address";
import { passwordHashSchema } from "./ui/password";
import { isSafePath } from "./session-record/access";
import { DEFAULT_LOG_DIR } from "./session-record/layout";

export const DEFAULT_STATE_DIR = "/var/lib/support-tunnel";
export const DEFAULT_CONFIG_PATH = "/etc/support-tunnel/device.json";
export const DEFAULT_HOOK_TIMEOUT_SECONDS = 30;
/**
 * How long support may stay when neither the customer (`--duration`) nor the
 * config (`ttlSeconds`) says: decided here, never taken from the api's default.
 */
export const DEFAULT_TTL_SECONDS = 2 * 3600;
/** How long the record of a tunnel (its journal, its sessions' I/O logs) is kept after it was last written. */
export const DEFAULT_SESSION_RETENTION_DAYS = 90;

/** The log dir ends up in a sudoers file and an authorized_keys command: only plain path characters. */
const logDirSchema = z
  .string()
  .refine(isSafePath, "must be an absolute path of letters, digits and ._+-/ (no ..)");

const hookSchema = z
  .array(z.string().min(1, "must not be empty"), { error: "must be an argv array" })
  .min(1, "must name a program")
  .refine((argv) => argv[0]!.startsWith("/"), "must start with an absolute path to the program");

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

export type HookName = "preUp" | "postUp" | "preDown" | "postDown";

export interface DeviceSettings {
  apiUrl?: string;
  stateDir: string;
  enrollmentSecret?: string;
  description?: string;
  ttlSeconds?: number;
  hooks: Partial<Record<HookName, string[]>>;
  hookTimeoutMs: number;
  /** The session record: journals and sudo's I/O logs (root-only). */
  logDir: string;
  sessionRetentionDays: number;
  /** The program every session of a support account is forced through, and the node that runs it. */
  sessionProgram: { node: string; script: string };
  /** The consent page's settings from the config file. */
  ui?: UiSettings;
}

export interface UiSettings {
  listen?: string;
  passwordHash?: string;
  hostNames?: string[];
}

export interface GlobalFlags {
  api?: string;
  stateDir?: string;
  config?: string;
  logDir?: string;
}

/** This installation's session program: beside this file in dist/, run by the node running us. */
export const SESSION_PROGRAM = {
  node: process.execPath,
  script: path.join(__dirname, "session-program.js"),
};

export interface TrustCheck {
  /** The uid files must belong to; root in production. */
  ownerUid: number;
}

/** Refuses a file that is not owned by `ownerUid` or is writable by group or others. */
export async function assertTrustedFile(
  file: string,
  what: string,
  trust: TrustCheck,
): Promise<void> {
  let stat: import("node:fs").Stats;
  try {
    stat = await fs.stat(file);
  } catch (err) {
    throw new DeviceError(
      `${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}`,
    );
  }
  if (!stat.isFile()) throw new DeviceError(`${what} ${file} is not a regular file`);
  if (stat.uid !== trust.ownerUid) {
    throw new DeviceError(
      `refusing ${what} ${file}: owned by uid ${stat.uid}, not ${trust.ownerUid}`,
    );
  }
  if (stat.mode & 0o022) {
    throw new DeviceError(
      `refusing ${what} ${file}: writable by group or others (mode ${(stat.mode & 0o777).toString(8)})`,
    );
  }
}

export async function loadSettings(
  flags: GlobalFlags,
  env: NodeJS.ProcessEnv = process.env,
  trust: TrustCheck = { ownerUid: 0 },
): Promise<DeviceSettings> {
  const given = flags.config ?? env.SUPPORT_DEVICE_CONFIG;
  const configPath = given ?? DEFAULT_CONFIG_PATH;
  let file: DeviceConfigFile = {};
  let text: string | undefined;
  try {
    text = await fs.readFile(configPath, "utf8");
  } catch (err) {
    // A missing default file is fine (no hooks, no secret); a file the user named must exist.
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" || given !== undefined) {
      throw new UsageError(
        `config file ${configPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
  }
  if (text !== undefined) {
    await assertTrustedFile(configPath, "config file", trust);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new DeviceError(`config file ${configPath} is not JSON: ${(err as Error).message}`);
    }
    try {
      file = parseWire(deviceConfigSchema, json, "config");
    } catch (err) {
      if (err instanceof ValidationError)
        throw new DeviceError(`config file ${configPath}: ${err.message}`);
      throw err;
    }
    for (const argv of Object.values(file.hooks ?? {})) {
      await assertTrustedFile(argv[0]!, "hook", trust);
    }
  }
  const apiUrl = flags.api ?? env.SUPPORT_API_URL ?? file.apiUrl;
  if (apiUrl !== undefined) {
    try {
      const url = new URL(apiUrl);
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("scheme");
    } catch {
      throw new UsageError(`api url must be an http(s) URL: ${apiUrl}`);
    }
  }
  const logDir = flags.logDir ?? env.SUPPORT_LOG_DIR ?? file.logDir ?? DEFAULT_LOG_DIR;
  if (!logDirSchema.safeParse(logDir).success)
    throw new UsageError(
      `log dir must be an absolute path of letters, digits and ._+-/ (no ..): ${logDir}`,
    );
  return {
    apiUrl,
    stateDir: flags.stateDir ?? env.SUPPORT_STATE_DIR ?? DEFAULT_STATE_DIR,
    // The fleet's or the customer's secret: from the environment (a unit's
    // EnvironmentFile) or the root-owned config file, never from argv.
    enrollmentSecret: env.SUPPORT_ENROLLMENT_SECRET
      ? env.SUPPORT_ENROLLMENT_SECRET
      : file.enrollmentSecret,
    description: file.description,
    ttlSeconds: file.ttlSeconds,
    hooks: { ...file.hooks },
    hookTimeoutMs: (file.hookTimeoutSeconds ?? DEFAULT_HOOK_TIMEOUT_SECONDS) * 1000,
    ...(file.ui ? { ui: file.ui } : {}),
    logDir,
    sessionRetentionDays: file.sessionRetentionDays ?? DEFAULT_SESSION_RETENTION_DAYS,
    sessionProgram: SESSION_PROGRAM,
  };
}

/** `90`, `90s`, `45m`, `2h`, `1d` → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`not a duration: ${text} (e.g. 90m, 2h, 1d)`);
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "" | "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}
