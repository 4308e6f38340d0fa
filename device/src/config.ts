// The device's settings: flags over environment over the root-owned config file.
// This is the only module that reads process.env. The config file and every hook
// it names must be owned by root and writable by nobody else: they decide what
// runs as root, so a file someone else can edit is a way to root.
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { codePointName, findUnsafeCharacter } from "@support-tunnel/common/dist/untrusted";
import { ValidationError } from "@support-tunnel/common/dist/validation-error";
import {
  arrayOf,
  bad,
  object,
  optional,
  runCheck,
  string,
  stringThat,
  url,
  type Check,
} from "@support-tunnel/common/dist/wire-check";
import type { DeviceConfigFile } from "./config-schema";
import { DeviceError, UsageError } from "./errors";
import { isListenAddress } from "./ui/listen-address";
import { passwordHash } from "./ui/password";
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
const LOG_DIR_RULE = "must be an absolute path of letters, digits and ._+-/ (no ..)";

export type { DeviceConfigFile };

const hook: Check<string[]> = (value, field) => {
  if (!Array.isArray(value)) bad(field, "must be an argv array");
  const argv = arrayOf(
    stringThat((s) => s.length >= 1, "must not be empty"),
    {
      min: [1, "must name a program"],
    },
  )(value, field);
  if (!argv[0]!.startsWith("/")) bad(field, "must start with an absolute path to the program");
  return argv;
};

const integer =
  (min: number, max: number, range: [string, string]): Check<number> =>
  (value, field) => {
    if (typeof value !== "number" || !Number.isFinite(value)) bad(field, "must be a number");
    if (!Number.isSafeInteger(value)) bad(field, "must be an integer");
    if (value < min) bad(field, range[0]);
    if (value > max) bad(field, range[1]);
    return value;
  };

/**
 * The config file, checked by hand (the zod schema it keeps to is in
 * config-schema.ts; config.spec.ts runs both on one table): the agent reads it at
 * every start and should not carry zod for it.
 */
const deviceConfig = object<DeviceConfigFile>(
  {
    apiUrl: optional(url),
    enrollmentSecret: optional(
      stringThat((s) => s.length >= 1 && s.length <= 512, "must be 1 to 512 characters"),
    ),
    description: optional((value, field) => {
      const s = string(value, field);
      if (s.length > 500) bad(field, "must be at most 500 characters");
      const found = findUnsafeCharacter(s);
      if (found)
        bad(field, `must not contain ${found.class} (found ${codePointName(found.character)})`);
      return s;
    }),
    ttlSeconds: optional(
      integer(60, 7 * 24 * 3600, ["must be at least 60 seconds", "must be at most 7 days"]),
    ),
    hooks: optional(
      object(
        {
          preUp: optional(hook),
          postUp: optional(hook),
          preDown: optional(hook),
          postDown: optional(hook),
        },
        { strict: true },
      ),
    ),
    hookTimeoutSeconds: optional(integer(1, 3600, ["must be at least 1", "must be at most 3600"])),
    ui: optional(
      object(
        {
          listen: optional(
            stringThat(isListenAddress, "must be an IP address and port, e.g. 127.0.0.1:7480"),
          ),
          passwordHash: optional(passwordHash),
          hostNames: optional(
            arrayOf(
              stringThat((s) => s.length <= 253 && HOSTNAME.test(s), "must be a hostname"),
              { max: [16, "must name at most 16 host names"] },
            ),
          ),
        },
        { strict: true },
      ),
    ),
    logDir: optional(stringThat(isSafePath, LOG_DIR_RULE)),
    sessionRetentionDays: optional(
      integer(1, 3650, ["must be at least 1", "must be at most 3650"]),
    ),
  },
  { strict: true },
);

/** The config file's JSON, checked: what deviceConfigSchema accepts, or a ValidationError naming every bad field. */
export function checkDeviceConfig(json: unknown): DeviceConfigFile {
  return runCheck(deviceConfig, json, "config");
}

/** common's hostnameSchema. */
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

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
      file = checkDeviceConfig(json);
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
  if (!isSafePath(logDir))
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
