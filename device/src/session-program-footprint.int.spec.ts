// The session program starts before every command an engineer runs (sshd runs it
// through sudo for each session), so what it loads on the way to the command is
// time on every `support command`. zod and common's schemas were most of it: a
// session reads its approval and checks its flags without them. A stray import
// of common's index, or a reader of the journal that validates with zod, brings
// them back, which this catches. The real program runs here, as root, for an
// account that does not exist: sudo refuses to run the command, and the session
// is journaled all the same, start to end.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileJournal } from "./adapters/journal-store";
import { approvedEvent } from "./test/journal-events";

const SESSION_PROGRAM = path.resolve(__dirname, "session-program.js");
const tunnelId = "44444444-4444-4444-8444-444444444444";

/** Preloaded: lists the files loaded, as JSON on stderr, when the program exits. */
const LIST_LOADED_ON_EXIT = `process.on("exit", () => process.stderr.write("LOADED " + JSON.stringify(Object.keys(require.cache)) + "\\n"));`;

describe("the session program's footprint", function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "session-footprint-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // As root, as sshd runs it through sudo (it refuses to run otherwise).
  it("journals a session, its approval's engineer named, without loading zod or common's index", async () => {
    const logDir = path.join(dir, "log");
    await new FileJournal(logDir).append(approvedEvent(tunnelId, "alice", Date.now()));
    const preload = path.join(dir, "list-loaded.js");
    writeFileSync(preload, LIST_LOADED_ON_EXIT);
    const child = spawn(
      process.execPath,
      ["-r", preload, SESSION_PROGRAM, "--tunnel", tunnelId, "--log-dir", logDir],
      {
        env: { PATH: process.env.PATH, SUDO_USER: "support0a0b0c0d", SSH_ORIGINAL_COMMAND: "true" },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    await new Promise((resolve) => child.once("close", resolve));

    const listed = /^LOADED (.*)$/m.exec(stderr);
    assert.ok(listed, `the program did not list what it loaded:\n${stderr}`);
    const loaded = JSON.parse(listed[1]!) as string[];
    assert.ok(loaded.includes(SESSION_PROGRAM), "the program's own module is in the list");
    const heavy = loaded.filter(
      (file) =>
        /node_modules[\\/]zod[\\/]/.test(file) ||
        file.endsWith(`${path.sep}common${path.sep}dist${path.sep}index.js`),
    );
    assert.deepEqual(heavy, [], "the session program loaded zod or common's index");

    const journal = readFileSync(path.join(logDir, "journal", `${tunnelId}.jsonl`), "utf8");
    const events = journal
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; engineer?: string });
    assert.deepEqual(
      events.map((e) => e.type),
      ["approved", "session-opened", "session-closed"],
    );
    assert.equal(events[1]!.engineer, "alice");
  });
});
