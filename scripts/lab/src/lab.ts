// The lab: real components on one Linux machine, as root (network namespaces,
// veth pairs, a bridge, nftables NAT, wireguard-go, sshd), so the device, the
// `support` CLI's netns provider, the end-to-end tests and the demo run the real
// thing without touching the machine's own users, /etc or /home. What a lab
// offers and how it is torn down: ../README.md. This file is the Lab itself;
// state.ts, network.ts, teardown.ts and owner.ts do the jobs it calls on.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  assertHostName,
  assertLabName,
  chooseInternetSegment,
  lanPlan,
  namespaceNames,
  nextSegmentAddress,
  rootInterfaceName,
  segmentAddress,
} from "./addresses";
import { LabHost, type HostRecord } from "./host";
import {
  buildHost,
  buildInternet,
  forgetStaleNeighbours,
  rootLinkNames,
  rootRoutes,
  startKeeper,
} from "./network";
import { registerOwnedLab, unregisterOwnedLab } from "./owner";
import {
  LABS_LOCK,
  LAB_ROOT,
  isAbandoned,
  isReady,
  labDir,
  listLabStates,
  readState,
  stateFile,
  type LabState,
} from "./state";
import { cleanupLeftoverLabs, teardownHostSync, teardownLabSync } from "./teardown";
import { isProcessAlive, processStartTime, withLock } from "./system";

export { LAB_ROOT, listLabStates, type LabState } from "./state";
export { cleanupLeftoverLabs } from "./teardown";

export interface CreateLabOptions {
  /** /^[a-z][a-z0-9]{0,11}$/; default random `l` + 6 hex. Fails if a live lab has it. */
  name?: string;
  /** The lab outlives the creating process (no signal/exit handlers). */
  keepAfterExit?: boolean;
}

export interface AddHostOptions {
  behindNat?: boolean;
}

export class Lab {
  private readonly hostObjects = new Map<string, LabHost>();
  private destroyed = false;

  private constructor(
    private state: LabState,
    readonly owned: boolean,
  ) {}

  get name(): string {
    return this.state.name;
  }
  get dir(): string {
    return labDir(this.state.name);
  }
  get internetCidr(): string {
    return this.state.internet.cidr;
  }
  get rootAddress(): string {
    return this.state.internet.rootAddress;
  }
  get rootInterface(): string {
    return this.state.internet.rootInterface;
  }

  /** @internal */
  static async create(options: CreateLabOptions): Promise<Lab> {
    await cleanupLeftoverLabs();
    const name = options.name ?? `l${randomBytes(3).toString("hex")}`;
    assertLabName(name);
    fs.mkdirSync(LAB_ROOT, { recursive: true, mode: 0o700 });
    const state = await withLock(LABS_LOCK, async () => {
      if (fs.existsSync(labDir(name)))
        throw new Error(`lab ${name} already exists (${labDir(name)})`);
      const others = listLabStates();
      const routes = await rootRoutes();
      const cidr = chooseInternetSegment([...routes, ...others.map((s) => s.internet.cidr)]);
      const links = await rootLinkNames();
      let id: string;
      do id = randomBytes(2).toString("hex");
      while (links.includes(rootInterfaceName(id)) || others.some((s) => s.id === id));
      const state: LabState = {
        version: 1,
        name,
        id,
        ownerPid: process.pid,
        ownerStartTime: processStartTime(process.pid),
        createdAt: new Date().toISOString(),
        internet: {
          cidr,
          rootAddress: segmentAddress(cidr, 1),
          rootInterface: rootInterfaceName(id),
          netns: namespaceNames.internet(name),
        },
        nextIndex: 1,
        hosts: {},
      };
      fs.mkdirSync(path.join(labDir(name), "hosts"), { recursive: true, mode: 0o700 });
      stateFile(name).write(state);
      return state;
    });
    const lab = new Lab(state, !options.keepAfterExit);
    if (lab.owned) registerOwnedLab(lab);
    try {
      await buildInternet(state.internet);
      if (options.keepAfterExit) {
        const keeper = await startKeeper(state.internet.netns);
        await lab.update((s) => {
          s.ownerPid = keeper;
          s.ownerStartTime = processStartTime(keeper);
        });
      }
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  /** @internal */
  static open(name: string): Lab {
    assertLabName(name);
    const state = readState(name);
    if (!state) throw new Error(`no lab named ${name} (${labDir(name)})`);
    if (!isProcessAlive(state.ownerPid, state.ownerStartTime)) {
      throw new Error(`lab ${name} is left over from a dead process ${state.ownerPid}`);
    }
    return new Lab(state, false);
  }

  /** The hosts recorded in lab.json (also those added by other processes). */
  hosts(): LabHost[] {
    this.refresh();
    return Object.values(this.state.hosts)
      .filter(isReady)
      .map((h) => this.hostObject(h));
  }

  host(name: string): LabHost {
    this.refresh();
    const record = this.state.hosts[name];
    if (!record || !isReady(record)) throw new Error(`no host ${name} in lab ${this.name}`);
    return this.hostObject(record);
  }

  async addHost(name: string, options: AddHostOptions = {}): Promise<LabHost> {
    assertHostName(name);
    if (this.destroyed) throw new Error(`lab ${this.name} is destroyed`);
    const behindNat = options.behindNat === true;
    const dir = path.join(this.dir, "hosts", name);
    // Reserve the name, index and address first, so a concurrent addHost and a
    // teardown both see the namespaces this call is about to create.
    const record = await this.update((s) => {
      const existing = s.hosts[name];
      if (existing && isAbandoned(existing)) {
        // Left half-built by a process that died (a Ctrl-C'd `support create`):
        // clear it so the name can be used again.
        teardownHostSync(existing);
        delete s.hosts[name];
      } else if (existing) {
        throw new Error(`lab ${this.name} already has a host ${name}`);
      }
      const index = s.nextIndex++;
      const used = Object.values(s.hosts).map((h) => h.internetAddress);
      const internetAddress = nextSegmentAddress(s.internet.cidr, used);
      const lan = behindNat ? lanPlan(index) : undefined;
      const r: HostRecord = {
        name,
        netns: namespaceNames.host(this.name, name),
        index,
        behindNat,
        address: lan ? lan.host : internetAddress,
        internetAddress,
        lan: lan
          ? {
              cidr: lan.cidr,
              router: lan.router,
              routerNetns: namespaceNames.router(this.name, name),
            }
          : undefined,
        holderPid: 0,
        holderStartTime: null,
        dir,
        ready: false,
        creatorPid: process.pid,
        creatorStartTime: processStartTime(process.pid),
      };
      s.hosts[name] = r;
      return r;
    });
    try {
      await buildHost(this.name, record, this.state.internet, (r) =>
        this.update((s) => {
          const recorded = s.hosts[r.name];
          if (recorded) {
            recorded.holderPid = r.holderPid;
            recorded.holderStartTime = r.holderStartTime;
          }
        }),
      );
      await forgetStaleNeighbours(record.internetAddress, Object.values(this.state.hosts));
      record.ready = true;
      await this.update((s) => {
        if (s.hosts[name]) s.hosts[name].ready = true;
      });
    } catch (error) {
      teardownHostSync(record);
      await this.update((s) => {
        delete s.hosts[name];
      }).catch(() => undefined);
      throw error;
    }
    return this.hostObject(record);
  }

  async removeHost(name: string): Promise<void> {
    this.refresh();
    const record = this.state.hosts[name];
    if (!record) return;
    await this.hostObjects.get(name)?.killChildren();
    teardownHostSync(record);
    this.hostObjects.delete(name);
    await this.update((s) => {
      delete s.hosts[name];
    });
  }

  /** Removes everything the lab created. Idempotent; never throws for a half-built lab. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.allSettled([...this.hostObjects.values()].map((h) => h.killChildren()));
    this.refresh();
    teardownLabSync(this.state);
    unregisterOwnedLab(this);
  }

  /** @internal synchronous teardown for signal and exit handlers. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.refresh();
    teardownLabSync(this.state);
  }

  private hostObject(record: HostRecord): LabHost {
    const existing = this.hostObjects.get(record.name);
    if (existing && existing.record.holderPid === record.holderPid) return existing;
    const host = new LabHost(this.name, record);
    this.hostObjects.set(record.name, host);
    return host;
  }

  private refresh(): void {
    const fresh = readState(this.name);
    if (fresh) this.state = fresh;
  }

  private async update<T>(change: (s: LabState) => T): Promise<T> {
    const { state, result } = await stateFile(this.name).update(change);
    this.state = state;
    return result;
  }
}

export function createLab(options: CreateLabOptions = {}): Promise<Lab> {
  return Lab.create(options);
}

/** Attaches to a live lab created by another process (or this one). */
export async function openLab(name: string): Promise<Lab> {
  return Lab.open(name);
}
