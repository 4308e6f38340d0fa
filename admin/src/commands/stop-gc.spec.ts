import assert from "node:assert/strict";
import {
  ApiError,
  TunnelState,
  type TunnelId,
  type TunnelView,
  Printer,
} from "@support-tunnel/common";
import type { TunnelServer, TunnelServerProvider } from "../providers/provider";
import type { ServerRecord, ServerRecordStore } from "../server-records";
import { collectGarbage } from "./gc";
import { endTunnel } from "./stop";

const A = "0b7e3f52-9a61-4c1e-8d2f-3a4b5c6d7e8f" as TunnelId;
const B = "1c8f4a63-0b72-4d2f-9e3a-4b5c6d7e8f90" as TunnelId;
const C = "2d9a5b74-1c83-4e3a-8f4b-5c6d7e8f9a01" as TunnelId;

function view(
  id: TunnelId,
  state: TunnelState,
  expiresAt = "2099-01-01T00:00:00.000Z",
): TunnelView {
  return {
    tunnelId: id,
    state,
    network: "10.20.30.0/30",
    hostname: null,
    description: null,
    deviceWgPublicKey: "x" as never,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    expiresAt,
    server: null,
    supportUser: null,
    approvedBy: null,
    stoppedBy: null,
    stopReason: null,
    endedAt: null,
    ticket: null,
    notBefore: null,
    allowedEngineers: null,
    allowedPorts: [],
    customer: null,
    sessions: [],
    refusal: null,
  };
}

function record(id: TunnelId): ServerRecord {
  const server: TunnelServer = {
    instanceId: `lab:ts${id.slice(0, 8)}${id.slice(9, 13)}`,
    provider: "netns",
    publicIp: "100.64.0.9",
    wgPort: 51820,
    interfaceName: "sts",
    ssh: { host: "h", port: 22, username: "root", privateKeyPath: "/k" },
  };
  return { tunnelId: id, createdAt: "", knownHostsPath: "", server };
}

function world(
  tunnels: Record<string, TunnelView | 404>,
  recorded: TunnelId[],
  orphans: { instanceId: string; tunnelId: TunnelId }[] = [],
) {
  const destroyed: string[] = [];
  const stopped: string[] = [];
  const records = new Map(recorded.map((id) => [id as string, record(id)]));
  const store: ServerRecordStore = {
    save: async () => undefined,
    load: async (id) => records.get(id) ?? null,
    remove: async (id) => void records.delete(id),
    all: async () => [...records.values()],
    knownHostsPath: () => "",
  };
  const provider: TunnelServerProvider = {
    name: "netns",
    preflight: async () => undefined,
    obtain: async () => {
      throw new Error("not here");
    },
    destroy: async (s) => void destroyed.push(s.instanceId),
    list: async () => orphans,
  };
  const api = {
    getTunnel: async (id: TunnelId) => {
      const t = tunnels[id];
      if (!t || t === 404) throw new ApiError(404, "tunnel not found");
      return t;
    },
    stopTunnel: async (id: TunnelId) => {
      const t = tunnels[id];
      if (!t || t === 404) throw new ApiError(404, "tunnel not found");
      if (t.state === TunnelState.Completed) throw new ApiError(409, "tunnel is over");
      stopped.push(id);
      return (tunnels[id] = { ...t, state: TunnelState.Completed });
    },
  };
  const printer = new Printer({
    stdout: { write: () => true },
    stderr: { write: () => true },
    json: false,
    tty: false,
  });
  return {
    deps: {
      api,
      records: store,
      providerFor: () => provider,
      printer,
      listable: [provider],
      now: () => Date.parse("2030-01-01T00:00:00Z"),
    },
    destroyed,
    stopped,
    records,
  };
}

describe("stop", () => {
  it("ends the tunnel in the api, then destroys its server and forgets it", async () => {
    const w = world({ [A]: view(A, TunnelState.Running) }, [A]);
    const result = await endTunnel(A, {}, w.deps);
    assert.deepEqual(w.stopped, [A]);
    assert.deepEqual(w.destroyed, [record(A).server.instanceId]);
    assert.equal(result.state, TunnelState.Completed);
    assert.equal(w.records.size, 0);
  });

  it("still destroys the server of a tunnel the customer already ended, and can run twice", async () => {
    const w = world({ [A]: view(A, TunnelState.Completed) }, [A]);
    await endTunnel(A, {}, w.deps);
    await endTunnel(A, {}, w.deps);
    assert.deepEqual(w.destroyed, [record(A).server.instanceId]);
  });
});

describe("gc", () => {
  it("stops expired tunnels, destroys servers of ended ones and keeps live ones", async () => {
    const w = world(
      {
        [A]: view(A, TunnelState.Running, "2029-01-01T00:00:00.000Z"),
        [B]: view(B, TunnelState.Completed),
        [C]: view(C, TunnelState.Running),
      },
      [A, B, C],
    );
    const result = await collectGarbage(w.deps);
    assert.deepEqual(result.stopped, [A]);
    assert.deepEqual(
      result.destroyed.sort(),
      [record(A).server.instanceId, record(B).server.instanceId].sort(),
    );
    assert.deepEqual(result.kept, [C]);
    assert.deepEqual([...w.records.keys()], [C]);
  });

  it("destroys orphan servers the provider lists whose tunnel is over or unknown", async () => {
    const w = world(
      { [A]: view(A, TunnelState.TimedOut), [C]: view(C, TunnelState.Running) },
      [],
      [
        { instanceId: "lab:orphan1", tunnelId: A },
        { instanceId: "lab:orphan2", tunnelId: B },
        { instanceId: "lab:live", tunnelId: C },
      ],
    );
    const result = await collectGarbage(w.deps);
    assert.deepEqual(w.destroyed, ["lab:orphan1", "lab:orphan2"]);
    assert.deepEqual(result.kept, [C]);
    assert.deepEqual(result.errors, []);
  });
});
