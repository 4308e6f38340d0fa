import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileJournal } from "../adapters/journal-store";
import { approvedEvent } from "../test/journal-events";
import { iologDirOf } from "./layout";
import {
  runSession,
  sessionInputFrom,
  SessionRefusedError,
  type ChildOutcome,
  type SessionInput,
  type SessionRunnerDeps,
} from "./session-runner";

const tunnelId = "3f6c0b9e-6d2a-4c1e-9a57-0c2b8f1d4e21";
const env = {
  SUDO_USER: "support7a3f0c12",
  SSH_ORIGINAL_COMMAND: "'sudo' '-n' '--' 'systemctl' 'restart' 'cups'",
  SSH_CONNECTION: "10.99.0.2 40022 10.99.0.1 22",
};
const args = ["--tunnel", tunnelId, "--log-dir", "/var/log/support-tunnel"];

describe("the session program", () => {
  let logDir: string;
  let journal: FileJournal;
  let ran: (readonly string[])[];
  let outcome: ChildOutcome;
  let time: number;

  beforeEach(() => {
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), "session-spec-"));
    journal = new FileJournal(logDir);
    ran = [];
    outcome = { exitCode: 0, signal: null };
    time = Date.parse("2030-01-01T10:02:00Z");
  });
  afterEach(() => fs.rmSync(logDir, { recursive: true, force: true }));

  function deps(overrides: Partial<SessionRunnerDeps> = {}): SessionRunnerDeps {
    return {
      now: () => time,
      random: (n) => new Uint8Array(n).fill(0xab),
      journal,
      run: async (argv) => {
        ran.push(argv);
        time += 400;
        // sudo writes the I/O log where the sudoers file says, with our marker in it.
        const dir = path.join(iologDirOf(logDir, tunnelId), "00", "00", "01");
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "log.json"), JSON.stringify({ runargv: argv.slice(5) }));
        return outcome;
      },
      warn: () => undefined,
      ...overrides,
    };
  }

  function input(over: Partial<SessionInput> = {}): SessionInput {
    return { ...sessionInputFrom(args, env, false), logDir, ...over };
  }

  it("runs what the session asked for as sshd would, as the account, through sudo's I/O log", async () => {
    await runSession(deps(), input());
    assert.deepEqual(ran, [
      [
        "/usr/bin/sudo",
        "-n",
        "-u",
        "support7a3f0c12",
        "--",
        "/usr/bin/env",
        "SUPPORT_SESSION=abababababab",
        "/bin/bash",
        "-c",
        "'sudo' '-n' '--' 'systemctl' 'restart' 'cups'",
      ],
    ]);
  });

  it("runs a login shell when the session asked for no command", async () => {
    await runSession(deps(), input({ command: null, pty: true }));
    assert.deepEqual(ran[0]!.slice(-2), ["/bin/bash", "-l"]);
  });

  it("journals the session as it opens and again with its exit, duration and I/O log", async () => {
    outcome = { exitCode: 3, signal: null };
    const result = await runSession(deps(), input());
    assert.deepEqual(result, outcome);
    const events = (await journal.read(tunnelId))!.events;
    assert.deepEqual(events, [
      {
        v: 1,
        at: "2030-01-01T10:02:00.000Z",
        type: "session-opened",
        tunnelId,
        session: "abababababab",
        supportUser: "support7a3f0c12",
        engineer: null,
        command: "'sudo' '-n' '--' 'systemctl' 'restart' 'cups'",
        pty: false,
        from: "10.99.0.2",
      },
      {
        v: 1,
        at: "2030-01-01T10:02:00.400Z",
        type: "session-closed",
        tunnelId,
        session: "abababababab",
        exitCode: 3,
        signal: null,
        durationMs: 400,
        iolog: "00/00/01",
      },
    ]);
  });

  it("names the engineer the approval named", async () => {
    await journal.append(approvedEvent(tunnelId, "alice", time));
    await runSession(deps(), input());
    const opened = (await journal.read(tunnelId))!.events.find((e) => e.type === "session-opened");
    assert.equal(opened?.type === "session-opened" && opened.engineer, "alice");
  });

  it("tells the api who is in while the session runs, then the whole session with its exit, no content", async () => {
    const reports: unknown[] = [];
    let ranWhenOpened = -1;
    await journal.append(approvedEvent(tunnelId, "alice", time));
    outcome = { exitCode: 2, signal: null };
    await runSession(
      deps({
        report: async (r) => {
          if (reports.length === 0) ranWhenOpened = ran.length;
          reports.push(r);
        },
      }),
      input(),
    );
    const session = {
      session: "abababababab",
      engineer: "alice",
      startedAt: "2030-01-01T10:02:00.000Z",
    };
    assert.deepEqual(reports, [
      { ...session, endedAt: null, exitCode: null },
      { ...session, endedAt: "2030-01-01T10:02:00.400Z", exitCode: 2 },
    ]);
    assert.equal(ranWhenOpened, 0, "the open is reported as the session starts");
  });

  it("runs and journals the session even when the api cannot be told", async () => {
    const result = await runSession(
      deps({
        report: async () => {
          throw new Error("connect ECONNREFUSED");
        },
      }),
      input(),
    );
    assert.equal(result.exitCode, 0);
    assert.equal(ran.length, 1);
    const types = (await journal.read(tunnelId))!.events.map((e) => e.type);
    assert.deepEqual(types, ["session-opened", "session-closed"]);
  });

  it("refuses to run a session it cannot journal: nothing reaches the device unrecorded", async () => {
    const broken = deps({
      journal: {
        append: async () => {
          throw new Error("EROFS: read-only file system");
        },
        approvedEngineer: async () => null,
        iologDir: async () => null,
      },
    });
    await assert.rejects(runSession(broken, input()), (err: Error) => {
      assert.ok(err instanceof SessionRefusedError);
      assert.match(err.message, /cannot be recorded \(EROFS.*\); it was not started/);
      return true;
    });
    assert.deepEqual(ran, []);
  });

  it("refuses to start unless sudo ran it for a support account with its fixed arguments", () => {
    assert.throws(
      () => sessionInputFrom(args, { ...env, SUDO_USER: undefined }, false),
      /through sudo by a support account/,
    );
    assert.throws(
      () => sessionInputFrom(args, { ...env, SUDO_USER: "root" }, false),
      /support account/,
    );
    assert.throws(
      () => sessionInputFrom(["--tunnel", "x", "--log-dir", "/l"], env, false),
      /tunnel id/,
    );
    assert.throws(() => sessionInputFrom([...args, "--extra"], env, false), /usage/);
    assert.throws(
      () => sessionInputFrom(["--tunnel", tunnelId, "--log-dir", "rel"], env, false),
      /absolute/,
    );
    assert.throws(() => sessionInputFrom([...args, "--state-dir", "rel"], env, false), /absolute/);
    assert.equal(sessionInputFrom([...args, "--state-dir", "/s"], env, false).stateDir, "/s");
  });

  it("takes a plain ssh login (no SSH_ORIGINAL_COMMAND) as a shell, with the terminal it has", () => {
    const sut = sessionInputFrom(args, { SUDO_USER: "support7a3f0c12" }, true);
    assert.deepEqual(
      { command: sut.command, pty: sut.pty, from: sut.from },
      { command: null, pty: true, from: null },
    );
  });
  describe("file transfers", () => {
    function transferDeps(log: string, piped: (readonly string[])[]): SessionRunnerDeps {
      return deps({
        transfer: {
          program: (tool) =>
            tool === "sftp" ? "/usr/lib/openssh/sftp-server" : `/usr/bin/${tool}`,
          isDirectory: (p) => p === "/tmp/",
          runPiped: async (argv, taps) => {
            piped.push(argv);
            time += 1000;
            taps.stderr?.(Buffer.from(log));
            taps.stdin?.(Buffer.from("C0644 3100 fix.sh\n"));
            taps.stdin?.(Buffer.alloc(3101));
            return { exitCode: 0, signal: null };
          },
        },
      });
    }

    it("runs an sftp request with the device's sftp-server as root, and journals each file", async () => {
      const piped: (readonly string[])[] = [];
      const log =
        'open "/root/fix.sh" flags WRITE,CREATE,TRUNCATE mode 0644\nclose "/root/fix.sh" bytes read 0 written 3100\n';
      await runSession(transferDeps(log, piped), input({ command: "internal-sftp" }));
      assert.deepEqual(ran, [], "not run as the account's shell");
      assert.deepEqual(piped, [
        [
          "/usr/bin/sudo",
          "-n",
          "-u",
          "root",
          "--",
          "/usr/lib/openssh/sftp-server",
          "-e",
          "-l",
          "INFO",
        ],
      ]);
      const events = (await journal.read(tunnelId))!.events;
      assert.deepEqual(
        events.map((e) => e.type),
        ["session-opened", "file-transfer", "session-closed"],
      );
      assert.deepEqual(events[1], {
        v: 1,
        at: "2030-01-01T10:02:01.000Z",
        type: "file-transfer",
        tunnelId,
        session: "abababababab",
        tool: "sftp",
        direction: "upload",
        path: "/root/fix.sh",
        bytes: 3100,
      });
    });

    it("runs scp -t with the device's scp and only the flags scp sends, naming the files it received", async () => {
      const piped: (readonly string[])[] = [];
      await runSession(transferDeps("", piped), input({ command: "scp -p -t /tmp/" }));
      assert.deepEqual(piped, [
        ["/usr/bin/sudo", "-n", "-u", "root", "--", "/usr/bin/scp", "-p", "-t", "--", "/tmp/"],
      ]);
      const files = (await journal.read(tunnelId))!.events.filter(
        (e) => e.type === "file-transfer",
      );
      assert.deepEqual(
        files.map((e) => e.type === "file-transfer" && [e.tool, e.direction, e.path, e.bytes]),
        [["scp", "upload", "/tmp/fix.sh", 3100]],
      );
    });

    it("runs a command that only looks like scp as any command, through the account's shell", async () => {
      const piped: (readonly string[])[] = [];
      await runSession(transferDeps("", piped), input({ command: "scp -t /tmp/ && id" }));
      assert.deepEqual(piped, []);
      assert.deepEqual(ran[0]!.slice(-2), ["-c", "scp -t /tmp/ && id"]);
    });
  });
});
