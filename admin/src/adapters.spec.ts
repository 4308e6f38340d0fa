import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { promptHidden } from "./adapters";
import { CliError, ExitCode } from "./errors";

/** A terminal as readline sees one: raw mode switched by the prompt, keys typed by the test. */
class FakeTerminal extends PassThrough {
  isTTY = true;
  isRaw = false;
  setRawMode(mode: boolean): this {
    this.isRaw = mode;
    return this;
  }
}

function terminal() {
  const input = new FakeTerminal();
  let shown = "";
  const output = new PassThrough();
  output.on("data", (chunk: Buffer) => (shown += chunk.toString()));
  return { input, output, shown: () => shown };
}

type Terminal = ReturnType<typeof terminal>;

/**
 * Types each chunk as one burst of keys, the way a terminal delivers them, once
 * the prompt is on screen: keys typed before it are stale and dropped, as on a real terminal.
 */
async function type(t: Terminal, ...keys: string[]): Promise<void> {
  while (!t.shown().includes("PSK")) await new Promise((resolve) => setTimeout(resolve, 5));
  for (const k of keys) {
    await new Promise((resolve) => setImmediate(resolve));
    t.input.write(k);
  }
}

function rejectsWith(code: number) {
  return (err: unknown) => {
    assert.ok(err instanceof CliError, String(err));
    assert.equal(err.exitCode, code);
    return true;
  };
}

describe("promptHidden", () => {
  it("returns what was typed without echoing it", async () => {
    const t = terminal();
    const answer = promptHidden("PSK from the customer", t);
    await type(t, "s3cret-psk", "\r");
    assert.equal(await answer, "s3cret-psk");
    assert.match(t.shown(), /PSK from the customer/);
    assert.doesNotMatch(t.shown(), /s3cret/);
    assert.equal(t.input.isRaw, false, "the terminal is left as it was");
  });

  it("erases the line typed so far on Ctrl-U", async () => {
    const t = terminal();
    const answer = promptHidden("PSK", t);
    await type(t, "wrong", "\x15", "right", "\r");
    assert.equal(await answer, "right");
  });

  it("asks again, saying why, until the answer is valid", async () => {
    const t = terminal();
    const answer = promptHidden("PSK", {
      ...t,
      validate: (v) => v === "good" || "not a PSK",
    });
    await type(t, "bad", "\r", "\x15good", "\r");
    assert.equal(await answer, "good");
    assert.match(t.shown(), /not a PSK/);
  });

  it("gives up with a usage error on Ctrl-D on an empty line", async () => {
    const t = terminal();
    const answer = promptHidden("PSK", t);
    await type(t, "\x04");
    await assert.rejects(answer, rejectsWith(ExitCode.Usage));
  });

  it("is interrupted by Ctrl-C, and by its signal (SIGINT from outside)", async () => {
    const t = terminal();
    const typed = promptHidden("PSK", t);
    await type(t, "half", "\x03");
    await assert.rejects(typed, rejectsWith(ExitCode.Interrupted));

    const controller = new AbortController();
    const u = terminal();
    const signalled = promptHidden("PSK", { ...u, signal: controller.signal });
    await type(u, "half");
    controller.abort();
    await assert.rejects(signalled, rejectsWith(ExitCode.Interrupted));
    assert.equal(u.input.isRaw, false);
  });
});
