// `support completion bash|zsh|fish`: a completion script made from the program's
// own commands and flags, so it can never list a command that does not exist.
// Tunnel ids come from this machine's server records (`servers/<id>.json` beside
// the config file), read by the shell itself: completing never starts node or
// waits on the api.
import type { Command, Option } from "commander";
import { CONFIG_KEY_NAMES } from "./config-keys";

export const COMPLETION_SHELLS = ["bash", "zsh", "fish"] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** What may stand at one positional place: fixed words, or a tunnel id. */
type PositionalWords = readonly string[] | "tunnel-id" | null;

/** One command as completion sees it. */
export interface CompletionNode {
  /** Words after the binary: "" for the program, "group add-member". */
  path: string;
  description: string;
  subcommands: string[];
  /** Every flag, long and short, `--help` included. */
  flags: { names: string[]; description: string; takesValue: boolean; choices?: string[] }[];
  positionals: PositionalWords[];
}

/** Positional words commander does not know of (its arguments are free text). */
const POSITIONAL_WORDS: Record<string, PositionalWords[]> = {
  completion: [COMPLETION_SHELLS],
  "config get": [CONFIG_KEY_NAMES],
  "config set": [CONFIG_KEY_NAMES, null],
  "config unset": [CONFIG_KEY_NAMES],
};

function flagOf(option: Option): CompletionNode["flags"][number] {
  return {
    names: [option.long, option.short].filter((n): n is string => Boolean(n)),
    description: option.description,
    takesValue: option.required || option.optional,
    choices: option.argChoices,
  };
}

/** Every command of the program, parents before children. */
export function completionNodes(program: Command): CompletionNode[] {
  const nodes: CompletionNode[] = [];
  const visit = (cmd: Command, path: string) => {
    const flags = cmd.options.filter((o) => !o.hidden).map(flagOf);
    flags.push({ names: ["--help", "-h"], description: "show help", takesValue: false });
    nodes.push({
      path,
      description: cmd.description(),
      subcommands: cmd.commands.map((c) => c.name()),
      flags,
      positionals:
        POSITIONAL_WORDS[path] ??
        cmd.registeredArguments.map((a) => (a.name() === "id" ? "tunnel-id" : null)),
    });
    for (const sub of cmd.commands) visit(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  visit(program, "");
  return nodes;
}

export function renderCompletion(shell: CompletionShell, bin: string, program: Command): string {
  const nodes = completionNodes(program);
  if (shell === "fish") return renderFish(bin, nodes);
  const bash = renderBash(bin, nodes);
  if (shell === "bash") return bash;
  // zsh runs the same functions through its bash compatibility layer.
  return [
    `# ${bin}: zsh completion (from \`${bin} completion zsh\`). Install: add to ~/.zshrc, after compinit:`,
    `#   source <(${bin} completion zsh)`,
    "autoload -U +X bashcompinit && bashcompinit",
    bash,
  ].join("\n");
}

/** A function name part from the binary's name: `support-device` → `support_device`. */
function ident(bin: string): string {
  return bin.replace(/[^A-Za-z0-9]/g, "_");
}

function caseArms(arms: [string, string][]): string {
  return arms
    .filter(([, words]) => words !== "")
    .map(([pattern, words]) => `    ${JSON.stringify(pattern)}) echo ${JSON.stringify(words)} ;;`)
    .join("\n");
}

function renderBash(bin: string, nodes: CompletionNode[]): string {
  const fn = `_${ident(bin)}`;
  const subcommands = caseArms(nodes.map((n) => [n.path, n.subcommands.join(" ")]));
  const flags = caseArms(nodes.map((n) => [n.path, n.flags.flatMap((f) => f.names).join(" ")]));
  const valued = caseArms(
    nodes.map((n) => [
      n.path,
      n.flags
        .filter((f) => f.takesValue)
        .flatMap((f) => f.names)
        .join(" "),
    ]),
  );
  const choices = caseArms(
    nodes.flatMap((n) =>
      n.flags
        .filter((f) => f.choices)
        .flatMap((f) =>
          f.names.map((name): [string, string] => [`${n.path}:${name}`, f.choices!.join(" ")]),
        ),
    ),
  );
  const positionals = caseArms(
    nodes.flatMap((n) =>
      n.positionals.flatMap((p, i): [string, string][] =>
        p === null ? [] : [[`${n.path}:${i}`, p === "tunnel-id" ? "@tunnel-id" : p.join(" ")]],
      ),
    ),
  );
  return `# ${bin}: bash completion (from \`${bin} completion bash\`). Install one of:
#   ${bin} completion bash > ~/.local/share/bash-completion/completions/${bin}
#   echo 'source <(${bin} completion bash)' >> ~/.bashrc
${fn}_subcommands() {
  case "$1" in
${subcommands}
  esac
}
${fn}_flags() {
  case "$1" in
${flags}
  esac
}
${fn}_valued() {
  case "$1" in
${valued}
  esac
}
${fn}_choices() {
  case "$1" in
${choices}
  esac
}
${fn}_positional() {
  case "$1" in
${positionals}
  esac
}
# Tunnels this machine created: the server records beside the config file.
${fn}_tunnel_ids() {
  local config="\${SUPPORT_ADMIN_CONFIG:-\${XDG_CONFIG_HOME:-$HOME/.config}/support-tunnel/admin.json}"
  local file
  for file in "\${config%/*}"/servers/*.json; do
    [[ -e $file ]] || continue
    file="\${file##*/}"
    printf '%s\\n' "\${file%.json}"
  done
}
${fn}() {
  [[ -n \${ZSH_VERSION-} ]] && setopt localoptions ksharrays
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" path="" word i positional=0
  ((COMP_CWORD > 0)) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    # after --: the remote command's own words
    if [[ $word == -- ]]; then COMPREPLY=(); return 0; fi
    if [[ $word == -* ]]; then
      # a flag that takes a value takes the next word too
      [[ " $(${fn}_valued "$path") " == *" $word "* ]] && ((i++))
      continue
    fi
    if ((positional == 0)) && [[ " $(${fn}_subcommands "$path") " == *" $word "* ]]; then
      path="\${path:+$path }$word"
    else
      ((positional++))
    fi
  done
  if [[ $prev == -* && " $(${fn}_valued "$path") " == *" $prev "* ]]; then
    local choices
    choices="$(${fn}_choices "$path:$prev")"
    if [[ -n $choices ]]; then
      COMPREPLY=($(compgen -W "$choices" -- "$cur"))
    else
      COMPREPLY=($(compgen -f -- "$cur"))
    fi
    return 0
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(${fn}_flags "$path")" -- "$cur"))
    return 0
  fi
  local words
  words="$(${fn}_subcommands "$path")"
  ((positional > 0)) && words=""
  local at
  at="$(${fn}_positional "$path:$positional")"
  if [[ $at == @tunnel-id ]]; then
    words="$words $(${fn}_tunnel_ids)"
  elif [[ -n $at ]]; then
    words="$words $at"
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F ${fn} ${bin}
`;
}

/** A fish single-quoted string. */
function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function renderFish(bin: string, nodes: CompletionNode[]): string {
  const fn = `__${ident(bin)}`;
  const paths = nodes.map((n) => n.path);
  const lines = [
    `# ${bin}: fish completion (from \`${bin} completion fish\`). Install:`,
    `#   ${bin} completion fish > ~/.config/fish/completions/${bin}.fish`,
    `# The words after ${bin} that name a command ("group add-member").`,
    `function ${fn}_path`,
    `    set -l known ${paths.filter(Boolean).map(fishQuote).join(" ")}`,
    "    set -l path ''",
    "    for word in (commandline -opc)[2..-1]",
    "        string match -q -- '-*' $word; and continue",
    '        set -l next (string trim -- "$path $word")',
    "        contains -- $next $known; or break",
    "        set path $next",
    "    end",
    "    echo $path",
    "end",
    `function ${fn}_at`,
    `    set -l path (${fn}_path)`,
    '    test "$path" = "$argv[1]"',
    "end",
    `function ${fn}_tunnel_ids`,
    "    set -l config $SUPPORT_ADMIN_CONFIG",
    '    if test -z "$config"',
    "        set -l home $XDG_CONFIG_HOME",
    '        test -z "$home"; and set home $HOME/.config',
    "        set config $home/support-tunnel/admin.json",
    "    end",
    "    for file in (dirname $config)/servers/*.json",
    "        basename $file .json",
    "    end",
    "end",
    `complete -c ${bin} -f`,
  ];
  for (const node of nodes) {
    const at = `-n ${fishQuote(`${fn}_at ${fishQuote(node.path)}`)}`;
    for (const sub of node.subcommands) {
      const child = nodes.find((n) => n.path === (node.path ? `${node.path} ${sub}` : sub));
      lines.push(
        `complete -c ${bin} ${at} -a ${fishQuote(sub)} -d ${fishQuote(firstLine(child?.description ?? ""))}`,
      );
    }
    for (const flag of node.flags) {
      const names = flag.names
        .map((n) => (n.startsWith("--") ? `-l ${n.slice(2)}` : `-s ${n.slice(1)}`))
        .join(" ");
      const value = flag.choices
        ? ` -x -a ${fishQuote(flag.choices.join(" "))}`
        : flag.takesValue
          ? " -r -F"
          : "";
      lines.push(
        `complete -c ${bin} ${at} ${names}${value} -d ${fishQuote(firstLine(flag.description))}`,
      );
    }
    const first = node.positionals[0];
    if (first === "tunnel-id")
      lines.push(`complete -c ${bin} ${at} -a ${fishQuote(`(${fn}_tunnel_ids)`)}`);
    else if (first) lines.push(`complete -c ${bin} ${at} -a ${fishQuote(first.join(" "))}`);
  }
  return lines.join("\n") + "\n";
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.slice(0, 80);
}
