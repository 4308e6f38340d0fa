// The process that creates a lab owns it: SIGINT and SIGTERM destroy its labs and
// exit 130/143, and an `exit` handler tears them down synchronously, so a lab
// never outlives its run (unless made with keepAfterExit, which registers nothing).

/** What the handlers need of a lab. */
export interface OwnedLab {
  destroySync(): void;
}

const ownedLabs = new Set<OwnedLab>();

function destroyOwnedSync(): void {
  for (const lab of [...ownedLabs]) {
    try {
      lab.destroySync();
    } catch {
      // best effort: keep going with the other labs
    }
  }
  ownedLabs.clear();
}

const onSigint = () => {
  destroyOwnedSync();
  process.exit(130);
};
const onSigterm = () => {
  destroyOwnedSync();
  process.exit(143);
};

export function registerOwnedLab(lab: OwnedLab): void {
  if (ownedLabs.size === 0) {
    // `on`, not `once`: a second Ctrl-C while tearing down must not kill the
    // process half way (the default action once a `once` listener is gone).
    process.on("SIGINT", onSigint);
    process.on("SIGTERM", onSigterm);
    process.once("exit", destroyOwnedSync);
  }
  ownedLabs.add(lab);
}

export function unregisterOwnedLab(lab: OwnedLab): void {
  if (!ownedLabs.delete(lab) || ownedLabs.size > 0) return;
  process.removeListener("SIGINT", onSigint);
  process.removeListener("SIGTERM", onSigterm);
  process.removeListener("exit", destroyOwnedSync);
}
