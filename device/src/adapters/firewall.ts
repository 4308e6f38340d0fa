// The tunnel's nftables table, applied with `nft`: the ruleset on stdin, one
// transaction, so a table is either the old one or the new one, never half.
import { run } from "./exec";
import type { Firewall } from "./ports";

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function checkedName(table: string): string {
  if (!TABLE_NAME.test(table)) throw new Error(`not an nftables table name: ${table}`);
  return table;
}

/** `nft -j list tables`: the names of the inet tables in its JSON. */
export function parseInetTables(json: string): string[] {
  const parsed = JSON.parse(json || "{}") as {
    nftables?: { table?: { family?: string; name?: string } }[];
  };
  return (parsed.nftables ?? [])
    .map((item) => item.table)
    .filter((t) => t?.family === "inet" && typeof t.name === "string")
    .map((t) => t!.name!);
}

export const nftFirewall: Firewall = {
  async apply(table, ruleset) {
    checkedName(table);
    await run("nft", ["-f", "-"], { input: ruleset, timeoutMs: 10_000 });
  },
  async remove(table) {
    if (!(await this.tables()).includes(checkedName(table))) return;
    await run("nft", ["delete", "table", "inet", table], { timeoutMs: 10_000 });
  },
  async tables() {
    return parseInetTables(
      (await run("nft", ["-j", "list", "tables"], { timeoutMs: 10_000 })).stdout,
    );
  },
};
