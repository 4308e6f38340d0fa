// The VM's startup script: installs WireGuard and nftables (each tunnel's
// interface is confined by its own table) and leaves a marker `obtain` reads
// over SSH, so the engineer's CLI starts configuring only a finished machine.
// GCE runs it as root at every boot; it is safe to run again.

/** `ok` when the script finished, `failed` when it gave up; absent while it runs. */
export const STARTUP_MARKER = "/var/lib/support-tunnel/startup";

export function renderStartupScript(): string {
  return `#!/bin/bash
# support-tunnel server bootstrap
set -uo pipefail
marker=${STARTUP_MARKER}
mkdir -p "$(dirname "$marker")"
rm -f "$marker"
export DEBIAN_FRONTEND=noninteractive
# apt mirrors can be briefly unreachable while the VM's network comes up
for attempt in 1 2 3 4 5; do
  if apt-get update -q && apt-get install -y -q --no-install-recommends wireguard-tools nftables; then
    break
  fi
  if [ "$attempt" -eq 5 ]; then
    echo failed > "$marker"
    exit 1
  fi
  sleep 10
done
if ! command -v wg >/dev/null || ! [ -x /usr/sbin/nft ]; then
  echo failed > "$marker"
  exit 1
fi
echo ok > "$marker"
chmod 0644 "$marker"
`;
}
