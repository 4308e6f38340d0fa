// The ephemeral support user, through the system's own tools: useradd/userdel,
// a sudoers.d file checked with visudo before it is moved into place, and an
// authorized_keys file written directly (never through a shell).
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { SUDOERS_HEADER, SUPPORT_SHELL } from "../session-record/access";
import { writeFileAtomic } from "./atomic-file";
import { CommandError, run } from "./exec";
import type { Users } from "./ports";

const SUPPORT_USER = /^support[0-9a-f]{4,16}$/;
/** The names this device creates: `support` + 8 hex digits. */
const OWN_USER = /^support[0-9a-f]{8}$/;
/** Start of the passwd comment of every user we create. */
const MARKER = "support-tunnel";

export interface SystemUsersOptions {
  passwdFile?: string;
  sudoersDir?: string;
}

interface PasswdEntry {
  name: string;
  comment: string;
  uid: number;
  gid: number;
  home: string;
}

function checkName(name: string): void {
  // The name ends up in argv, a sudoers file and a path: only our own shape is allowed.
  if (!SUPPORT_USER.test(name)) throw new Error(`not a support user name: ${name}`);
}

export class SystemUsers implements Users {
  private readonly passwdFile: string;
  private readonly sudoersDir: string;

  constructor(options: SystemUsersOptions = {}) {
    this.passwdFile = options.passwdFile ?? "/etc/passwd";
    this.sudoersDir = options.sudoersDir ?? "/etc/sudoers.d";
  }

  private async passwd(): Promise<PasswdEntry[]> {
    const text = await fs.readFile(this.passwdFile, "utf8");
    return text
      .split("\n")
      .map((line) => line.split(":"))
      .filter((f) => f.length >= 7)
      .map((f) => ({
        name: f[0]!,
        uid: Number(f[2]),
        gid: Number(f[3]),
        comment: f[4]!,
        home: f[5]!,
      }));
  }

  private async entry(name: string): Promise<PasswdEntry | undefined> {
    return (await this.passwd()).find((e) => e.name === name);
  }

  async exists(name: string): Promise<boolean> {
    return (await this.entry(name)) !== undefined;
  }

  async create(name: string, comment: string): Promise<void> {
    checkName(name);
    // `*` rather than useradd's locked `!`: no password can ever match, yet the
    // account is not "locked", which sshd without PAM would refuse for keys too.
    // Given to useradd itself, so the account never exists with another.
    await run(
      "useradd",
      [
        "--create-home",
        "--shell",
        SUPPORT_SHELL,
        "--user-group",
        "--password",
        "*",
        "--comment",
        comment,
        name,
      ],
      { timeoutMs: 30_000 },
    );
  }

  async grantSudo(name: string, text: string): Promise<void> {
    checkName(name);
    // gc recognises our files by their first line: one without it would be left behind.
    if (!text.startsWith(SUDOERS_HEADER))
      throw new Error(`sudoers rules must start with ${SUDOERS_HEADER}`);
    await fs.mkdir(this.sudoersDir, { recursive: true, mode: 0o750 });
    // visudo checks the exact text before it goes live. sudo ignores sudoers.d names
    // with a dot, so neither the check file nor the atomic write's temp file is ever read by it.
    const check = path.join(this.sudoersDir, `.${name}.check`);
    await fs.rm(check, { force: true });
    try {
      await fs.writeFile(check, text, { flag: "wx", mode: 0o440 });
      await run("visudo", ["-c", "-q", "-f", check], { timeoutMs: 10_000 });
    } finally {
      await fs.rm(check, { force: true });
    }
    await writeFileAtomic(path.join(this.sudoersDir, name), text, { mode: 0o440 });
  }

  async authorize(name: string, authorizedKeysLine: string): Promise<void> {
    checkName(name);
    if (/[\r\n]/.test(authorizedKeysLine))
      throw new Error("an authorized_keys line must be one line");
    const user = await this.entry(name);
    if (!user) throw new Error(`user ${name} does not exist`);
    // Root's, not the account's: its key carries the forced session program, which
    // the account must not be able to edit away (sshd's StrictModes accepts root-owned).
    const sshDir = path.join(user.home, ".ssh");
    await fs.mkdir(sshDir, { mode: 0o755 });
    await fs.chown(sshDir, 0, 0);
    await fs.chmod(sshDir, 0o755);
    const file = path.join(sshDir, "authorized_keys");
    const handle = await fs.open(file, "wx", 0o644);
    try {
      await handle.writeFile(`${authorizedKeysLine}\n`);
      await handle.chown(0, 0);
      await handle.chmod(0o644);
    } finally {
      await handle.close();
    }
  }

  async remove(name: string): Promise<void> {
    checkName(name);
    const user = await this.entry(name);
    if (user) {
      for (let attempt = 0; ; attempt++) {
        // Exit 1: no process matched. Anything the user still runs dies first, or userdel refuses.
        await run("pkill", ["-KILL", "-u", name], { okExitCodes: [1], timeoutMs: 10_000 });
        try {
          // 6: no such user (someone else removed it meanwhile).
          await run("userdel", attempt < 5 ? ["--remove", name] : ["--remove", "--force", name], {
            okExitCodes: [6],
            timeoutMs: 30_000,
          });
          break;
        } catch (err) {
          // 8: the user is still logged in (a process was just dying); try again.
          if (!(err instanceof CommandError && err.exitCode === 8) || attempt >= 5) throw err;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      // userdel leaves the home behind if it did not own it: make sure no key survives.
      if (path.basename(user.home) === name)
        await fs.rm(user.home, { recursive: true, force: true });
    }
    await fs.rm(path.join(this.sudoersDir, name), { force: true });
    await fs.rm(path.join(this.sudoersDir, `.${name}.check`), { force: true });
  }

  /**
   * Only what we made: a name of our exact shape AND our marker (the passwd
   * comment, the sudoers file's first line), so gc never touches an account an
   * administrator happened to call `support1234abcd`.
   */
  async listSupportUsers(): Promise<string[]> {
    const names = new Set(
      (await this.passwd())
        .filter((e) => OWN_USER.test(e.name) && e.comment.startsWith(MARKER))
        .map((e) => e.name),
    );
    let files: string[] = [];
    try {
      files = await fs.readdir(this.sudoersDir);
    } catch {
      // no sudoers.d: nothing of ours there
    }
    for (const file of files) {
      if (!OWN_USER.test(file)) continue;
      const text = await fs.readFile(path.join(this.sudoersDir, file), "utf8").catch(() => "");
      if (text.startsWith(SUDOERS_HEADER)) names.add(file);
    }
    return [...names].sort();
  }
}
