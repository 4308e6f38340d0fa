import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runProgram } from "./run-program";

describe("runProgram", () => {
  it("gives the program its input and returns its output without the final newline, and its exit", async () => {
    const result = await runProgram("sh", ["-c", 'cat; echo "$1" >&2; exit 3', "sh", "to stderr"], {
      input: "line one\nline two\n",
    });
    assert.deepEqual(
      { ...result, startError: result.startError?.message ?? null },
      {
        stdout: "line one\nline two",
        stderr: "to stderr",
        exitCode: 3,
        signal: null,
        timedOut: false,
        startError: null,
      },
    );
  });

  it("passes arguments as they are, with no shell between", async () => {
    const tricky = ["$(touch /tmp/nope)", "a b", "'", ";", "*"];
    const result = await runProgram("printf", ["%s\\n", ...tricky]);
    assert.equal(result.stdout, tricky.join("\n"));
  });

  it("gives the program an empty stdin when there is no input", async () => {
    const result = await runProgram("cat", [], { timeoutMs: 5000 });
    assert.equal(result.exitCode, 0);
    assert.equal(result.stdout, "");
  });

  it("runs it in the environment given, and only that", async () => {
    const result = await runProgram("/usr/bin/env", [], { env: { ONLY: "this" } });
    assert.equal(result.stdout, "ONLY=this");
  });

  it("says why a program could not be started, without throwing", async () => {
    const result = await runProgram("/nonexistent/program", ["x"]);
    assert.equal(result.exitCode, null);
    assert.match(String(result.startError), /ENOENT/);
  });

  it("ends a program that runs past its time, and says so", async () => {
    const result = await runProgram("sleep", ["30"], { timeoutMs: 100 });
    assert.equal(result.timedOut, true);
    assert.equal(result.exitCode, null);
    assert.equal(result.signal, "SIGTERM");
  });

  it("kills one that ignores SIGTERM", async () => {
    const result = await runProgram("sh", ["-c", "trap '' TERM; while :; do sleep 0.05; done"], {
      timeoutMs: 100,
    });
    assert.equal(result.timedOut, true);
    assert.equal(result.signal, "SIGKILL");
  });

  it("does not wait for what a program leaves in the background when its output is ignored", async () => {
    // As `ssh -f` leaves its master: with captured output, this would wait 30 s for the sleep.
    const pidFile = path.join(os.tmpdir(), `run-program-spec-${process.pid}`);
    const result = await runProgram("sh", ["-c", 'sleep 30 & echo $! > "$1"', "sh", pidFile], {
      output: "ignore",
      timeoutMs: 10_000,
    });
    process.kill(Number(fs.readFileSync(pidFile, "utf8")));
    fs.rmSync(pidFile);
    assert.equal(result.exitCode, 0);
    assert.equal(result.timedOut, false);
  });
});
