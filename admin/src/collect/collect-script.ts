// The collection script `support collect` sends to the device: fixed and
// versioned, shipped with this CLI, sent on stdin as data (nothing from the api
// or the network goes into it). It runs as root (`sudo -n -- env
// SUPPORT_TUNNEL_COLLECT=<version> bash -s`), gathers each part with a size cap
// and a timeout into a private temporary directory, writes a manifest, and
// writes the bundle (a .tar.gz) on stdout; progress goes to stderr.

/** Bumped whenever the script changes: the manifest and the timeline carry it. */
export const COLLECT_SCRIPT_VERSION = 1;

/** The top directory of every bundle: nothing in it lies outside. */
export const BUNDLE_DIR = "support-collect";

/** Progress lines on stderr: `support-collect: part <name>`. */
export const PROGRESS_PREFIX = "support-collect: part ";

export interface CollectPart {
  name: string;
  /** Bytes kept at most; the rest is cut and the part marked truncated. */
  capBytes: number;
  timeoutSeconds: number;
  /** A program the part needs: skipped (and said so) where it is missing. */
  needs?: string;
  /** bash, fixed text: it is the manifest's `command` too. */
  command: string;
}

const KB = 1024;
const MB = 1024 * KB;

export const COLLECT_PARTS: readonly CollectPart[] = [
  { name: "os", capBytes: 64 * KB, timeoutSeconds: 10, command: "cat /etc/os-release; uname -a" },
  { name: "uptime", capBytes: 16 * KB, timeoutSeconds: 10, command: "uptime; cat /proc/loadavg" },
  {
    name: "disks",
    capBytes: 256 * KB,
    timeoutSeconds: 15,
    command: "df -hP; if command -v lsblk >/dev/null; then echo; lsblk; fi",
  },
  {
    name: "memory",
    capBytes: 64 * KB,
    timeoutSeconds: 10,
    command: "if command -v free >/dev/null; then free -m; echo; fi; cat /proc/meminfo",
  },
  { name: "network-addresses", capBytes: 256 * KB, timeoutSeconds: 10, command: "ip addr show" },
  {
    name: "network-routes",
    capBytes: 256 * KB,
    timeoutSeconds: 10,
    command: "ip route show table all",
  },
  {
    name: "listening-sockets",
    capBytes: 256 * KB,
    timeoutSeconds: 10,
    command: "if command -v ss >/dev/null; then ss -tulpn; else netstat -tulpn; fi",
  },
  {
    name: "journal",
    capBytes: 8 * MB,
    timeoutSeconds: 60,
    command:
      "if command -v journalctl >/dev/null && journalctl -b -n 1 >/dev/null 2>&1; then journalctl -b --no-pager -o short-iso; elif [ -r /var/log/syslog ]; then cat /var/log/syslog; else echo 'no journal and no /var/log/syslog'; exit 1; fi",
  },
  { name: "dmesg", capBytes: 2 * MB, timeoutSeconds: 15, command: "dmesg" },
  {
    name: "failed-units",
    capBytes: 256 * KB,
    timeoutSeconds: 15,
    needs: "systemctl",
    command: "systemctl --failed --no-pager",
  },
  {
    name: "docker-ps",
    capBytes: 256 * KB,
    timeoutSeconds: 20,
    needs: "docker",
    command: "docker ps -a",
  },
  {
    name: "docker-compose",
    capBytes: 256 * KB,
    timeoutSeconds: 20,
    needs: "docker",
    command: "docker compose ls -a",
  },
  {
    name: "docker-logs",
    capBytes: 4 * MB,
    timeoutSeconds: 60,
    needs: "docker",
    command:
      "for c in $(docker ps -q); do echo \"=== $c $(docker inspect -f '{{.Name}}' $c)\"; docker logs --tail 200 --timestamps $c 2>&1; done",
  },
];

/** A bash word in single quotes. */
function quoteWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The script. Everything runs inside `main`, whose body bash reads whole before
 * running it with stdin from /dev/null: no part can read the rest of the script.
 */
export function renderCollectScript(parts: readonly CollectPart[] = COLLECT_PARTS): string {
  for (const p of parts)
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(p.name)) throw new Error(`bad part name ${p.name}`);
  const calls = parts.map(
    (p) =>
      `  part ${p.name} ${p.capBytes} ${p.timeoutSeconds} ${quoteWord(p.needs ?? "")} ${quoteWord(p.command)}`,
  );
  return [
    "set -u",
    "json() { local s=$1; s=${s//\\\\/\\\\\\\\}; s=${s//\\\"/\\\\\\\"}; s=${s//$'\\t'/\\\\t}; s=${s//$'\\n'/\\\\n}; printf '\"%s\"' \"$s\"; }",
    "main() {",
    "  umask 077",
    `  tmp=$(mktemp -d /tmp/support-collect.XXXXXX) || { echo 'cannot make a temporary directory' >&2; exit 1; }`,
    `  trap 'rm -rf "$tmp"' EXIT`,
    `  local out="$tmp/${BUNDLE_DIR}" entries="" skipped=""`,
    `  mkdir "$out"`,
    "  part() {",
    "    local name=$1 cap=$2 secs=$3 needs=$4 cmd=$5",
    `    if [ -n "$needs" ] && ! command -v "$needs" >/dev/null 2>&1; then`,
    `      skipped="$skipped\${skipped:+,}$(json "$name")"; return; fi`,
    `    echo "${PROGRESS_PREFIX}$name" >&2`,
    `    local file="$out/$name.txt" start=$SECONDS`,
    `    timeout -k 2 "$secs" bash -c "$cmd" 2>&1 </dev/null | head -c $((cap + 1)) > "$file"`,
    "    local code=${PIPESTATUS[0]} size truncated=false",
    `    size=$(stat -c %s "$file")`,
    `    if [ "$size" -gt "$cap" ]; then truncated=true; truncate -s "$cap" "$file"; size=$cap; fi`,
    `    entries="$entries\${entries:+,}{\\"part\\":$(json "$name"),\\"file\\":$(json "$name.txt"),\\"command\\":$(json "$cmd"),\\"exitCode\\":$code,\\"timedOut\\":$([ "$code" = 124 ] && echo true || echo false),\\"bytes\\":$size,\\"truncated\\":$truncated,\\"seconds\\":$((SECONDS - start))}"`,
    "  }",
    ...calls,
    `  printf '{"version":%s,"host":%s,"collectedAt":%s,"parts":[%s],"skipped":[%s]}\\n' ${COLLECT_SCRIPT_VERSION} "$(json "$(hostname)")" "$(json "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" "$entries" "$skipped" > "$out/manifest.json"`,
    `  tar -czf - -C "$tmp" ${BUNDLE_DIR}`,
    "}",
    "main </dev/null",
    "exit $?",
    "",
  ].join("\n");
}
