import assert from "node:assert/strict";
import {
  firewallTableName,
  interfaceOfFirewallTable,
  renderFirewallRuleset,
} from "./tunnel-firewall";

describe("tunnel firewall (nftables ruleset)", () => {
  const iface = "std0123456789ab";

  it("accepts from the server only SSH and the allowed ports on the tunnel's interface, and drops the rest", () => {
    const text = renderFirewallRuleset({
      interfaceName: iface,
      network: "10.77.3.0/30",
      allowedPorts: [443, 80],
    });
    assert.match(text, /^table inet support_tunnel_std0123456789ab \{\}$/m);
    assert.match(text, /^delete table inet support_tunnel_std0123456789ab$/m);
    assert.match(
      text,
      /^ {4}iifname "std0123456789ab" ip saddr 10\.77\.3\.2 tcp dport \{ 22, 80, 443 \} accept$/m,
    );
    assert.match(text, /^ {4}iifname "std0123456789ab" drop$/m);
    // The drop comes last: nothing after it could reopen a port.
    const lines = text.trim().split("\n");
    assert.equal(lines.at(-3)?.trim(), `iifname "${iface}" drop`);
  });

  it("opens SSH alone when the customer allowed no port", () => {
    const text = renderFirewallRuleset({
      interfaceName: iface,
      network: "10.77.3.0/30",
      allowedPorts: [],
    });
    assert.match(text, /tcp dport \{ 22 \} accept/);
  });

  it("refuses a port the customer cannot allow, and an interface that is not a tunnel's", () => {
    for (const port of [0, 22, 65536, 1.5])
      assert.throws(
        () =>
          renderFirewallRuleset({
            interfaceName: iface,
            network: "10.77.3.0/30",
            allowedPorts: [port],
          }),
        /not an allowed port/,
      );
    assert.throws(() => firewallTableName("eth0"), /not a device tunnel interface/);
    assert.throws(
      () => firewallTableName('std0123456789ab" accept'),
      /not a device tunnel interface/,
    );
  });

  it("tells its own tables from others' by name", () => {
    assert.equal(interfaceOfFirewallTable(firewallTableName(iface)), iface);
    assert.equal(interfaceOfFirewallTable("filter"), null);
    assert.equal(interfaceOfFirewallTable("support_tunnel_eth0"), null);
  });
});
