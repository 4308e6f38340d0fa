// What an engineer's session asked for, in words a customer reads. sshd hands the
// session program the command as one string (SSH_ORIGINAL_COMMAND), which `support`
// builds by quoting every argument (`'sudo' '-n' '--' 'systemctl' 'restart' 'cups'`).
// Pure: it only reads the text, it never decides what runs.
import { parseToolSession } from "@support-tunnel/common/dist/tool-sessions";

/** Unquoted, these make the string more than a list of words: shown as it was sent. */
const SHELL_SYNTAX = new Set([..."|&;<>()$`*?[]{}#~!"]);

/**
 * The words of a command line made only of plain, quoted or escaped words, as a
 * POSIX shell would split them; null when it uses any other shell syntax
 * (pipes, variables, globs...), whose meaning only the shell knows.
 */
export function parseShellWords(text: string): string[] | null {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === " " || ch === "\t" || ch === "\n") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return null;
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (ch === '"') {
      inWord = true;
      for (i++; ; i++) {
        if (i >= text.length) return null;
        const c = text[i]!;
        if (c === '"') break;
        if (c === "$" || c === "`") return null;
        if (c === "\\" && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1]!)) {
          i++;
          if (text[i] !== "\n") word += text[i];
        } else {
          word += c;
        }
      }
    } else if (ch === "\\") {
      if (i + 1 >= text.length) return null;
      i++;
      if (text[i] !== "\n") word += text[i];
      inWord = true;
    } else if (SHELL_SYNTAX.has(ch)) {
      return null;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** A word as a person would type it: bare when it needs no quotes, else single-quoted. */
function displayWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const SUDO_SHELL_FLAGS = new Set(["-i", "-s", "--login", "--shell"]);
const SHELLS = new Set(["bash", "-bash", "sh", "-sh", "dash", "zsh", "ksh"]);
const SHELL_ARGS = new Set(["-l", "-i", "--login", "-il", "-li", "-"]);

/** `sudo [flags] [--] rest` split; undefined when the words are not a sudo call. */
function splitSudo(words: string[]): { flags: string[]; rest: string[] } | undefined {
  if (words[0] !== "sudo") return undefined;
  let i = 1;
  const flags: string[] = [];
  while (i < words.length && words[i]!.startsWith("-")) {
    if (words[i] === "--") {
      i++;
      break;
    }
    flags.push(words[i]!);
    i++;
  }
  return { flags, rest: words.slice(i) };
}

/**
 * The command for a person: `systemctl restart cups` for what `support command`
 * sent as `'sudo' '-n' '--' 'systemctl' 'restart' 'cups'` (the `sudo -n --` every
 * such command carries says nothing); the text as sent when it is shell syntax.
 */
export function displayCommand(command: string): string {
  const words = parseShellWords(command);
  if (!words) return command.trim();
  const sudo = splitSudo(words);
  const shown =
    sudo && sudo.rest.length > 0 && sudo.flags.every((f) => f === "-n" || f === "--non-interactive")
      ? sudo.rest
      : words;
  return shown.map(displayWord).join(" ");
}

/** `files`: an sftp, scp or rsync session (file-transfer.ts), whose files the journal lists. */
export type SessionKind = "shell" | "command" | "files" | "forward" | "collect";

/** The port a `support forward` session holds open; null for any other session. */
export function forwardedPort(command: string | null): number | null {
  const words = command === null ? null : parseShellWords(command);
  const tool = words ? parseToolSession(words) : null;
  return tool?.kind === "forward" ? tool.port : null;
}

/**
 * A shell when the session asked for none (a plain `ssh`), or for an interactive
 * shell (`sudo -i`, what `support connect` sends; `bash -l`; `su -`); otherwise a command.
 */
export function sessionKind(command: string | null): SessionKind {
  if (command === null) return "shell";
  let words = parseShellWords(command);
  if (!words) return "command";
  if (words.length === 0) return "shell";
  // `support forward` and `support collect` (common/tool-sessions): named for what they do.
  const tool = parseToolSession(words);
  if (tool) return tool.kind;
  const sudo = splitSudo(words);
  if (sudo) {
    if (sudo.rest.length === 0)
      return sudo.flags.some((f) => SUDO_SHELL_FLAGS.has(f)) ? "shell" : "command";
    words = sudo.rest;
  }
  const program = words[0]!.split("/").pop()!;
  const args = words.slice(1);
  if (SHELLS.has(program) && args.every((a) => SHELL_ARGS.has(a))) return "shell";
  if (program === "su" && args.every((a) => SHELL_ARGS.has(a) || a === "root")) return "shell";
  return "command";
}

/** What a session that is not a shell did, in words: the command, or what a tool session does. */
export function sessionCommandText(s: { kind: SessionKind; command: string | null }): string {
  if (s.kind === "forward") return `forward port ${forwardedPort(s.command)}`;
  if (s.kind === "collect") return "collect diagnostics";
  return displayCommand(s.command ?? "");
}
