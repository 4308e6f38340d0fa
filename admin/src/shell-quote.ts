// The one function that turns an argument vector into a string for a remote
// shell. `ssh` always hands the remote side a command *string*, so every level of
// remote command goes through here: data is never pasted into a shell unquoted.

/**
 * Quotes each argument in single quotes (a `'` inside becomes `'\''`) and joins
 * them with spaces. Single quotes turn off every expansion in POSIX sh, bash and
 * dash, so `$()`, backticks, `;`, globs and newlines arrive as plain bytes.
 */
export function shellQuote(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("shellQuote needs at least one argument");
  return argv
    .map((arg) => {
      if (arg.includes("\0")) throw new Error("an argument cannot contain a NUL byte");
      if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
      return `'${arg.replace(/'/g, `'\\''`)}'`;
    })
    .join(" ");
}
