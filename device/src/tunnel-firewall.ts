// The tunnel's packet filter on the device: an nftables table of its own on the
// tunnel's WireGuard interface that lets the tunnel server's address reach SSH
// and the ports the customer allowed, and nothing else. The support key's
// permitopen holds forwards to the same ports; this holds anything else on the
// server (root on it, another tenant of a shared one) to them too. Pure: rendered
// here, applied by the Firewall adapter.
import { tunnelAddresses } from "@support-tunnel/common/dist/wireguard";

/** The SSH port, always open through the tunnel (common's SSH_PORT, whose module loads zod). */
const SSH_PORT = 22;

/** Every table the device makes starts so: gc removes only tables that do. */
export const FIREWALL_TABLE_PREFIX = "support_tunnel_";

const DEVICE_INTERFACE = /^std[0-9a-f]{12}$/;

/** The tunnel's table: named after its interface, so gc can tell whose it is. */
export function firewallTableName(interfaceName: string): string {
  if (!DEVICE_INTERFACE.test(interfaceName))
    throw new Error(`not a device tunnel interface: ${JSON.stringify(interfaceName)}`);
  return `${FIREWALL_TABLE_PREFIX}${interfaceName}`;
}

/** The interface a table of ours belongs to; null for a table that is not ours. */
export function interfaceOfFirewallTable(table: string): string | null {
  if (!table.startsWith(FIREWALL_TABLE_PREFIX)) return null;
  const name = table.slice(FIREWALL_TABLE_PREFIX.length);
  return DEVICE_INTERFACE.test(name) ? name : null;
}

export interface FirewallOptions {
  interfaceName: string;
  /** The tunnel's network: the server is its second host. */
  network: string;
  /** The ports the customer allowed besides SSH. */
  allowedPorts: readonly number[];
}

/**
 * An `nft -f` script that creates the table or replaces it whole in one
 * transaction (the empty `table` line makes the `delete` safe when it is absent).
 * The chain drops: a drop in any base chain is final, so another table's accept
 * cannot reopen what this one closes. Only input on the tunnel's interface is
 * touched; WireGuard's own UDP arrives on the device's uplink, not here.
 */
export function renderFirewallRuleset({
  interfaceName,
  network,
  allowedPorts,
}: FirewallOptions): string {
  const table = firewallTableName(interfaceName);
  const server = tunnelAddresses(network).server;
  for (const port of allowedPorts)
    if (!Number.isInteger(port) || port < 1 || port > 65535 || port === SSH_PORT)
      throw new Error(`not an allowed port: ${port}`);
  const ports = [SSH_PORT, ...[...new Set(allowedPorts)].sort((a, b) => a - b)];
  const iif = `iifname "${interfaceName}"`;
  return [
    `table inet ${table} {}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    `  chain input {`,
    `    type filter hook input priority filter - 10; policy accept;`,
    // Answers to what the device itself sent, and ICMP errors about it (path MTU).
    `    ${iif} ct state established,related accept`,
    `    ${iif} ip saddr ${server} tcp dport { ${ports.join(", ")} } accept`,
    `    ${iif} ip saddr ${server} icmp type { echo-request } accept`,
    `    ${iif} drop`,
    `  }`,
    `}`,
    "",
  ].join("\n");
}
