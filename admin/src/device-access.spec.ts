import assert from "node:assert/strict";
import {
  ApiError,
  ApiUnreachableError,
  generateKeyPair,
  StoppedBy,
  TunnelState,
  type TunnelId,
  type TunnelView,
} from "@support-tunnel/common";
import { recordDisagreements, resolveDeviceAccess } from "./device-access";
import { CliError, ExitCode } from "./errors";
import type { ServerRecord, ServerRecordStore } from "./server-records";

const ID = "0b7e3f52-9a61-4c1e-8d2f-3a4b5c6d7e8f" as TunnelId;
const INSTANCE = "root@203.0.113.7:22:sts0b7e3f529a61";

const RECORD: ServerRecord = {
  tunnelId: ID,
  createdAt: "2026-01-01T00:00:00.000Z",
  knownHostsPath: `/cfg/servers/${ID}.known_hosts`,
  server: {
    instanceId: INSTANCE,
    provider: "ssh",
    publicIp: "203.0.113.7",
    wgPort: 51820,
    interfaceName: "sts0b7e3f529a61",
    ssh: { host: "203.0.113.7", port: 22, username: "root", privateKeyPath: "/k" },
  },
  device: {
    network: "10.20.30.0/30",
    address: "10.20.30.1",
    supportUser: "support1a2b",
    hostKeyAlias: `device.${ID}.support-tunnel`,
  },
};

function running(extra: Partial<TunnelView> = {}): TunnelView {
  return {
    tunnelId: ID,
    state: TunnelState.Running,
    network: "10.20.30.0/30",
    hostname: "dev",
    description: null,
    ticket: null,
    notBefore: null,
    allowedEngineers: null,
    allowedPorts: [],
    customer: null,
    sessions: [],
    refusal: null,
    deviceWgPublicKey: generateKeyPair().publicKey,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    expiresAt: "2099-01-01T00:00:00.000Z",
    server: {
      instanceId: INSTANCE,
      provider: "ssh",
      publicIp: "203.0.113.7",
      wgPort: 51820,
      wgPublicKey: generateKeyPair().publicKey,
    },
    supportUser: "support1a2b",
    approvedBy: "alice",
    stoppedBy: null,
    stopReason: null,
    endedAt: null,
    ...extra,
  };
}

function store(record: ServerRecord | null): ServerRecordStore {
  return {
    save: async () => undefined,
    load: async () => record,
    remove: async () => undefined,
    all: async () => (record ? [record] : []),
    knownHostsPath: () => RECORD.knownHostsPath,
  };
}

async function refusal(promise: Promise<unknown>): Promise<CliError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CliError, String(err));
    return err;
  }
  assert.fail("expected a refusal");
}

describe("resolveDeviceAccess", () => {
  const api = (view: TunnelView) => ({ getTunnel: async () => view });

  it("reaches the device where create recorded it when the api agrees", async () => {
    const { hop } = await resolveDeviceAccess(api(running()), store(RECORD), ID);
    assert.deepEqual(hop, {
      tunnelId: ID,
      interfaceName: "sts0b7e3f529a61",
      supportUser: "support1a2b",
      network: "10.20.30.0/30",
      deviceAddress: "10.20.30.1",
      hostKeyAlias: `device.${ID}.support-tunnel`,
    });
  });

  it("refuses an api that names another support user, with exit code 3", async () => {
    const err = await refusal(
      resolveDeviceAccess(api(running({ supportUser: "support9999" })), store(RECORD), ID),
    );
    assert.equal(err.exitCode, ExitCode.Refused);
    assert.match(
      err.message,
      /refusing to reach tunnel .*: the api says the support user is "support9999", create recorded "support1a2b"\. .*nothing was run on the device/,
    );
  });

  it("refuses an api that names another network", async () => {
    const err = await refusal(
      resolveDeviceAccess(api(running({ network: "192.168.1.8/30" })), store(RECORD), ID),
    );
    assert.equal(err.exitCode, ExitCode.Refused);
    assert.match(
      err.message,
      /the network is "192\.168\.1\.8\/30", create recorded "10\.20\.30\.0\/30"/,
    );
  });

  it("refuses an api that names another server, or none", async () => {
    const other = running();
    other.server = { ...other.server!, instanceId: "root@203.0.113.9:22:sts0b7e3f529a61" };
    const err = await refusal(resolveDeviceAccess(api(other), store(RECORD), ID));
    assert.equal(err.exitCode, ExitCode.Refused);
    assert.match(err.message, /the server is "root@203\.0\.113\.9:22:sts0b7e3f529a61"/);
    const none = await refusal(
      resolveDeviceAccess(api(running({ server: null })), store(RECORD), ID),
    );
    assert.equal(none.exitCode, ExitCode.Refused);
  });

  it("still lets the api end access: an ended tunnel is not reached", async () => {
    const err = await refusal(
      resolveDeviceAccess(
        api(running({ state: TunnelState.Completed, stoppedBy: StoppedBy.Device })),
        store(RECORD),
        ID,
      ),
    );
    assert.equal(err.exitCode, ExitCode.Conflict);
    assert.match(err.message, /is over \(completed, stopped by device/);
  });

  it("tells to create again when the record predates recorded devices", async () => {
    const { device: _device, ...old } = RECORD;
    const err = await refusal(resolveDeviceAccess(api(running()), store(old), ID));
    assert.equal(err.exitCode, ExitCode.Conflict);
    assert.match(err.message, /run `support stop .*` and create the tunnel again/);
  });

  describe("with the api unreachable", () => {
    const down = {
      getTunnel: async (): Promise<TunnelView> => {
        throw new ApiUnreachableError("api at http://api unreachable: connection refused");
      },
    };

    it("uses the access create recorded, with a warning that the device still decides", async () => {
      const warnings: string[] = [];
      const { hop } = await resolveDeviceAccess(down, store(RECORD), ID, {
        warn: (m) => warnings.push(m),
      });
      assert.equal(hop.supportUser, "support1a2b");
      assert.equal(hop.deviceAddress, "10.20.30.1");
      assert.deepEqual(warnings, [
        `the api is unreachable; using the recorded access to ${ID}; the device still enforces expiry and revocation`,
      ]);
    });

    it("still fails without a finished record, saying the api is unreachable", async () => {
      await assert.rejects(resolveDeviceAccess(down, store(null), ID), ApiUnreachableError);
      const { device: _device, ...old } = RECORD;
      await assert.rejects(resolveDeviceAccess(down, store(old), ID), ApiUnreachableError);
    });

    it("does not stand in for an api that answers with an error", async () => {
      const refusing = {
        getTunnel: async (): Promise<TunnelView> => {
          throw new ApiError(401, "invalid token");
        },
      };
      await assert.rejects(resolveDeviceAccess(refusing, store(RECORD), ID), ApiError);
    });
  });

  it("opens the first hop with the record while the api is asked, not after", async () => {
    const order: string[] = [];
    let answer!: (view: TunnelView) => void;
    const slow = {
      getTunnel: () =>
        new Promise<TunnelView>((resolve) => {
          answer = resolve;
        }),
    };
    const resolved = resolveDeviceAccess(slow, store(RECORD), ID, {
      whileChecking: async (record) => {
        order.push(`first hop to ${record.server.instanceId}`);
        answer(running());
      },
    });
    await resolved;
    assert.deepEqual(order, [`first hop to ${INSTANCE}`]);
  });

  it("says where connect works from when there is no record", async () => {
    const err = await refusal(resolveDeviceAccess(api(running()), store(null), ID));
    assert.equal(err.exitCode, ExitCode.NotFound);
  });
});

describe("recordDisagreements", () => {
  it("is empty when the api agrees, and names every difference otherwise", () => {
    assert.deepEqual(recordDisagreements(RECORD, running()), []);
    assert.equal(
      recordDisagreements(
        RECORD,
        running({ network: "10.20.31.0/30", supportUser: null, server: null }),
      ).length,
      3,
    );
  });

  it("checks only the network and the server before the support user is recorded", () => {
    const atCreate = { ...RECORD, device: { network: "10.20.30.0/30", address: "10.20.30.1" } };
    assert.deepEqual(recordDisagreements(atCreate, running({ supportUser: "support5555" })), []);
    assert.equal(recordDisagreements(atCreate, running({ network: "10.20.31.0/30" })).length, 1);
  });
});
