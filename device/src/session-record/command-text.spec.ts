import * as assert from "node:assert/strict";
import { displayCommand, parseShellWords, sessionKind } from "./command-text";

/** What `support` does to every argument (admin's shellQuote). */
function quoteLikeSupport(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

describe("the command a session asked for, for a person", () => {
  it("shows what `support command` ran without the sudo -n -- it carries", () => {
    assert.equal(
      displayCommand(quoteLikeSupport(["sudo", "-n", "--", "systemctl", "restart", "cups"])),
      "systemctl restart cups",
    );
    assert.equal(displayCommand("'sudo' '-n' '--' 'journalctl' '-u' 'cups'"), "journalctl -u cups");
  });

  it("reads back every hostile argument `support` quoted, byte for byte", () => {
    const args = [
      "a b",
      "it's",
      '"q"',
      "$(id)",
      "`id`",
      "; rm -rf /",
      "*",
      "tab\there",
      "new\nline",
      "",
      "ünï",
    ];
    assert.deepEqual(parseShellWords(quoteLikeSupport(args)), args);
  });

  it("quotes an argument with spaces or quotes in what it shows", () => {
    assert.equal(
      displayCommand(quoteLikeSupport(["sudo", "-n", "--", "printf", "%s|", "a b", "c'd"])),
      `printf '%s|' 'a b' 'c'\\''d'`,
    );
  });

  it("shows shell syntax as it was sent: only the shell knows what it means", () => {
    assert.equal(parseShellWords("ls /etc | wc -l"), null);
    assert.equal(displayCommand("ls /etc | wc -l"), "ls /etc | wc -l");
    assert.equal(parseShellWords('echo "$HOME"'), null);
    assert.deepEqual(parseShellWords(`echo "a \\"b\\"" c\\ d`), ["echo", 'a "b"', "c d"]);
  });

  it("tells a shell (support connect's `sudo -i`, a plain login, bash -l) from a command", () => {
    assert.equal(sessionKind(null), "shell");
    assert.equal(sessionKind("'sudo' '-i'"), "shell");
    assert.equal(sessionKind("sudo -i"), "shell");
    assert.equal(sessionKind("bash -l"), "shell");
    assert.equal(sessionKind("sudo -n -- su -"), "shell");
    assert.equal(sessionKind("/bin/sh -c 'id'"), "command");
    assert.equal(
      sessionKind(quoteLikeSupport(["sudo", "-n", "--", "bash", "-c", "id"])),
      "command",
    );
    assert.equal(sessionKind("sudo -i id"), "command");
    assert.equal(sessionKind("ls | wc"), "command");
  });
});
