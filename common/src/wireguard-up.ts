// Bringing a tunnel's WireGuard interface up, on the server and on the device,
// from the wg-quick config renderWgQuickConfig writes. `wg-quick up` is a bash
// script that runs a dozen programs for it (readlink, stat, ip five times, wg
// three times, sort); on a small machine that is most of a second, on each side
// of every tunnel. This does the same for our configs with four: `ip link add`
// (or wireguard-go without the kernel module), `wg setconf`, `ip address add`,
// `ip link set up`. The config stays a wg-quick one, so `wg-quick down` and
// anyone reading it by hand see what they always did.

/**
 * A POSIX sh script: `sh -c WG_UP_SCRIPT sh CONFIG`, the interface named after
 * the file (`<name>.conf`), as with wg-quick. What wg-quick does and our configs
 * need: refuse an interface that exists; the kernel's WireGuard, else the
 * userspace one (WG_QUICK_USERSPACE_IMPLEMENTATION, default wireguard-go, on
 * stderr); the keys and peer through `wg setconf` on stdin (never in argv); the
 * address, whose prefix covers the peer's /32 so no route is added; the MTU 80
 * below the path's, towards the endpoint or else by the default route. Our
 * configs have no DNS, MTU, Table or hooks, and none is honoured. On any failure
 * the interface is deleted: it is all up, or not there.
 */
export const WG_UP_SCRIPT = `set -euf
conf=$1
iface=\${conf##*/}; iface=\${iface%.conf}
case $iface in ''|*[!A-Za-z0-9_=+.-]*) echo "not a WireGuard interface name: $iface" >&2; exit 1;; esac
[ ! -e "/sys/class/net/$iface" ] || { echo "$iface already exists" >&2; exit 1; }
address= endpoint=
while IFS= read -r line; do
  case $line in
    "Address = "*) address=\${line#Address = } ;;
    "Endpoint = "*) endpoint=\${line#Endpoint = }; endpoint=\${endpoint%:*} ;;
  esac
done < "$conf"
[ -n "$address" ] || { echo "$conf names no Address" >&2; exit 1; }
trap 'ip link delete dev "$iface" 2>/dev/null || true' EXIT
if ! ip link add "$iface" type wireguard 2>/dev/null; then
  [ ! -e /sys/module/wireguard ] || { echo "ip link add $iface type wireguard failed" >&2; exit 1; }
  "\${WG_QUICK_USERSPACE_IMPLEMENTATION:-wireguard-go}" "$iface" >&2
fi
while IFS= read -r line; do
  case $line in "Address = "*) ;; *) printf '%s\\n' "$line" ;; esac
done < "$conf" | wg setconf "$iface" /dev/stdin
ip -4 address add "$address" dev "$iface"
case $endpoint in
  *[!0-9.]*|'') route=$(ip -4 route show default 2>/dev/null || true) ;;
  *) route=$(ip -4 route get "$endpoint" 2>/dev/null || true) ;;
esac
mtu= dev=
set -- $route
while [ $# -gt 0 ]; do
  case $1 in mtu) mtu=\${2:-} ;; dev) dev=\${2:-} ;; esac
  shift
done
case $mtu in ''|*[!0-9]*) mtu= ;; esac
if [ -z "$mtu" ] && [ -n "$dev" ] && [ -r "/sys/class/net/$dev/mtu" ]; then read -r mtu < "/sys/class/net/$dev/mtu"; fi
case $mtu in ''|*[!0-9]*) mtu=1500 ;; esac
ip link set mtu $((mtu - 80)) up dev "$iface"
trap - EXIT`;
