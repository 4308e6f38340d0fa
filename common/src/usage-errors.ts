// Usage errors of both CLIs as one line on stderr: what is wrong, and where the
// usage is. Commander's own output is a message plus, on request, the whole help
// (30 lines that push the message off a small terminal), and for a command that
// needs a subcommand, the help alone with no message at all.
// Typed by the few commander methods it uses: common does not depend on commander.

/** What this needs of a commander `Command`. */
export interface UsageCommand {
  name(): string;
  readonly parent: UsageCommand | null;
  readonly commands: readonly UsageCommand[];
  configureOutput(configuration: {
    outputError?: (str: string, write: (str: string) => void) => void;
  }): unknown;
  help(context?: { error: boolean }): never;
  error(message: string, options?: { code?: string; exitCode?: number }): never;
}

/** `support group add-member`: the words a user types to reach the command. */
export function commandPath(cmd: UsageCommand): string {
  const names: string[] = [];
  for (let c: UsageCommand | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/**
 * Commander's error text as one line: without its `error: ` (the CLI puts its own
 * prefix), lines joined ("(Did you mean list?)" stays), and where to read the usage.
 */
export function usageErrorLine(commanderText: string, prefix: string, helpOf: string): string {
  const message = commanderText
    .replace(/^error: /, "")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .join(" ");
  return `${prefix}${message} (see \`${helpOf} --help\`)\n`;
}

/**
 * Makes every usage error of `program` and its commands one line with `prefix`,
 * and a missing subcommand (`support group`) an error that names the choices,
 * where commander would print the help and exit 1. Call it once every command
 * is declared. The exit code stays the CLI's: both map commander's errors to 2.
 */
export function oneLineUsageErrors(program: UsageCommand, prefix: string): void {
  const visit = (cmd: UsageCommand) => {
    const path = commandPath(cmd);
    cmd.configureOutput({
      outputError: (str, write) => write(usageErrorLine(str, prefix, path)),
    });
    // The program itself keeps its help: `support` alone is a question, not a mistake.
    if (cmd.parent && cmd.commands.length > 0) {
      const showHelp = cmd.help.bind(cmd);
      const names = cmd.commands.map((c) => c.name());
      // Commander asks for the help "as an error" only when the subcommand is missing.
      cmd.help = (context) => {
        if (!context?.error) return showHelp(context);
        return cmd.error(`missing command: ${oneOf(names)}`, {
          code: "commander.missingSubcommand",
          exitCode: 2,
        });
      };
    }
    cmd.commands.forEach(visit);
  };
  visit(program);
}

function oneOf(names: readonly string[]): string {
  return names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names[0]!;
}
