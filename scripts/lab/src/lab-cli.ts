#!/usr/bin/env node
// `node scripts/lab/dist/lab-cli.js <command>`: a lab that outlives the shell
// command that made it, for trying the `support` CLI's netns provider by hand.
//   create [NAME]           a keepAfterExit lab; prints its name and root address
//   add-host NAME HOST [--nat]
//   list                    labs on this machine (name, segment, owner alive, hosts)
//   destroy NAME
//   cleanup                 removes labs whose owner died
import { cleanupLeftoverLabs, createLab, listLabStates, openLab } from "./lab";
import { isProcessAlive } from "./system";

const USAGE =
  "usage: lab-cli create [NAME] | add-host NAME HOST [--nat] | list | destroy NAME | cleanup";

async function main(argv: string[]): Promise<string> {
  const [command, ...rest] = argv;
  switch (command) {
    case "create": {
      const lab = await createLab({ name: rest[0], keepAfterExit: true });
      return `${lab.name} ${lab.rootAddress} ${lab.internetCidr}`;
    }
    case "add-host": {
      const [name, host] = rest;
      if (!name || !host) throw new Error(USAGE);
      const added = await (
        await openLab(name)
      ).addHost(host, { behindNat: rest.includes("--nat") });
      return `${added.name} ${added.address} ${added.internetAddress}`;
    }
    case "list":
      return listLabStates()
        .map((s) =>
          [
            s.name,
            s.internet.cidr,
            isProcessAlive(s.ownerPid, s.ownerStartTime) ? "live" : "leftover",
            Object.keys(s.hosts).join(",") || "-",
          ].join(" "),
        )
        .join("\n");
    case "destroy": {
      if (!rest[0]) throw new Error(USAGE);
      await (await openLab(rest[0])).destroy();
      return `destroyed ${rest[0]}`;
    }
    case "cleanup": {
      const removed = await cleanupLeftoverLabs();
      return removed.length ? `removed ${removed.join(" ")}` : "nothing to clean";
    }
    default:
      throw new Error(USAGE);
  }
}

main(process.argv.slice(2)).then(
  (out) => {
    if (out) console.log(out);
  },
  (error: Error) => {
    console.error(`lab-cli: ${error.message}`);
    process.exitCode = 1;
  },
);
