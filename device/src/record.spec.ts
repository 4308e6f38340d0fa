import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ttlSecondsSchema, ValidationError } from "@support-tunnel/common";
import { compareChecks, type CheckRow } from "@support-tunnel/testkit";
import { checkRecord, checkStoredRecord, effectiveExpiry } from "./record";
import { storedTunnelRecordSchema, tunnelRecordSchema } from "./record-schema";
import { createHarness, type Harness } from "./test/fakes";
import { TunnelLifecycle } from "./tunnel-lifecycle";

describe("tunnel record", () => {
  let h: Harness;

  beforeEach(() => {
    h = createHarness();
  });
  afterEach(() => h.cleanup());

  /** A record as the release before this one wrote it: no deadline of its own, the api's expiry. */
  async function writeVersion1(expiresInMs: number): Promise<string> {
    const current = await new TunnelLifecycle(h.deps).request();
    const { grantedUntil: _dropped, ...rest } = current;
    const old = {
      ...rest,
      version: 1,
      expiresAt: new Date(Date.parse(current.createdAt) + expiresInMs).toISOString(),
    };
    fs.writeFileSync(
      path.join(h.stateDir, "tunnels", `${current.tunnelId}.json`),
      JSON.stringify(old),
      { mode: 0o600 },
    );
    return current.tunnelId;
  }

  it("reads a record of the release before, keeping the expiry it had", async () => {
    const id = await writeVersion1(3600_000);
    const record = (await h.store.read(id))!;
    assert.equal(record.version, 2);
    assert.equal(record.grantedUntil, record.expiresAt);
  });

  it("caps an older record's expiry at the longest grant a customer can give", async () => {
    const id = await writeVersion1(30 * 24 * 3600_000);
    const record = (await h.store.read(id))!;
    assert.equal(
      Date.parse(effectiveExpiry(record)),
      Date.parse(record.createdAt) + 7 * 24 * 3600_000,
    );
  });

  it("reads a record from before the customer's choices as none chosen: anyone, at once", async () => {
    const current = await new TunnelLifecycle(h.deps).request({
      ticket: "ABC-123",
      allowedEngineers: ["alice"],
    });
    const { ticket: _t, notBefore: _n, allowedEngineers: _a, approval: _p, ...older } = current;
    fs.writeFileSync(
      path.join(h.stateDir, "tunnels", `${current.tunnelId}.json`),
      JSON.stringify(older),
      { mode: 0o600 },
    );
    const record = (await h.store.read(current.tunnelId))!;
    assert.deepEqual(
      [record.ticket, record.notBefore, record.allowedEngineers, record.approval],
      [null, null, null, null],
    );
    assert.equal(record.grantedUntil, current.grantedUntil);
  });

  it("never ends later than the grant, whatever the stored expiry says", () => {
    const grantedUntil = "2030-01-01T01:00:00.000Z";
    assert.equal(
      effectiveExpiry({ grantedUntil, expiresAt: "2030-02-01T00:00:00.000Z" }),
      grantedUntil,
    );
    assert.equal(
      effectiveExpiry({ grantedUntil, expiresAt: "2030-01-01T00:30:00.000Z" }),
      "2030-01-01T00:30:00.000Z",
    );
  });
});

describe("the record's hand checks", () => {
  const KEY = "6Ij1DkkcBXeVhmHDSYGl8+P5dd6pNWyG3u4pkhqjJms=";
  const good = (): Record<string, unknown> => ({
    version: 2,
    tunnelId: "0b5e2c4a-1111-4222-8333-444455556666",
    apiUrl: "https://support.example.com",
    deviceToken: `std_${"a".repeat(43)}`,
    privateKey: KEY,
    presharedKey: KEY,
    network: "10.21.7.0/30",
    interface: "std0123456789ab",
    supportUser: "support1a2b3c4d",
    createdAt: "2026-12-02T03:00:00.000Z",
    expiresAt: "2026-12-02T05:00:00.000Z",
    phase: "up",
    server: {
      publicKey: KEY,
      endpoint: "tunnel.example.com",
      wgPort: 51820,
      sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE egress@server",
    },
    ticket: "ABC-123",
    notBefore: null,
    allowedEngineers: ["alice", "bob"],
    allowedPorts: [80],
    approval: { engineer: "alice", ticket: "ABC-123" },
    grantedUntil: "2026-12-02T05:00:00.000Z",
  });
  const set = (key: string, value: unknown) => (v: Record<string, unknown>) => ({
    ...v,
    [key]: value,
  });
  const drop = (key: string) => (v: Record<string, unknown>) => {
    delete v[key];
    return v;
  };
  const inside = (outer: string, key: string, value: unknown) => (v: Record<string, unknown>) => ({
    ...v,
    [outer]: { ...(v[outer] as object), [key]: value },
  });
  const v1 =
    (change: (v: Record<string, unknown>) => unknown = (v) => v) =>
    (v: Record<string, unknown>) => {
      const { grantedUntil: _dropped, ...rest } = v;
      return change({ ...rest, version: 1 });
    };
  const FIELDS = Object.keys(good());
  const rows: CheckRow[] = [
    ["a good record", (v) => v],
    ["not an object", () => "record"],
    ["null", () => null],
    ["an array", () => []],
    ["an unknown field", set("extra", 1)],
    ...FIELDS.flatMap((key): CheckRow[] => [
      [`${key} missing`, drop(key)],
      [`${key} null`, set(key, null)],
      [`${key} a number`, set(key, 7)],
      [`${key} an object`, set(key, {})],
      [`${key} empty`, set(key, "")],
      [`${key} a list`, set(key, [])],
    ]),
    ["version 3", set("version", 3)],
    ['version "2"', set("version", "2")],
    ["a record of the release before", v1()],
    [
      "a record of the release before with a deadline",
      v1(set("grantedUntil", "2026-12-02T05:00:00Z")),
    ],
    [
      "a record of the release before, far expiry (capped)",
      v1(set("expiresAt", "2027-12-02T05:00:00Z")),
    ],
    ["a record of the release before, a bad key", v1(set("privateKey", "x"))],
    [
      "a record of the release before, choices absent",
      v1((v) => {
        const r = v;
        for (const key of ["ticket", "notBefore", "allowedEngineers", "allowedPorts", "approval"])
          delete r[key];
        return r;
      }),
    ],
    [
      "choices absent (defaults)",
      (v) => {
        for (const key of ["ticket", "notBefore", "allowedEngineers", "allowedPorts", "approval"])
          delete v[key];
        return v;
      },
    ],
    [
      "apiUrl with spaces and a tab (trimmed)",
      set("apiUrl", "  https://support.example.com/a\tb  "),
    ],
    ["apiUrl not a URL", set("apiUrl", "support.example.com")],
    ["apiUrl another scheme", set("apiUrl", "ftp://x")],
    ["deviceToken short", set("deviceToken", "std_abc")],
    ["privateKey bad", set("privateKey", KEY.replace("s=", "t="))],
    ["network public", set("network", "8.8.8.0/30")],
    ["interface bad", set("interface", "wg0")],
    ["supportUser bad", set("supportUser", "root")],
    ["createdAt without zone", set("createdAt", "2026-12-02T03:00:00")],
    ["phase each", set("phase", "stopping")],
    ["phase unknown", set("phase", "down")],
    ["server an IPv4 endpoint", inside("server", "endpoint", "203.0.113.7")],
    ["server a bad endpoint", inside("server", "endpoint", "bad host")],
    ["server an endpoint of 254 characters", inside("server", "endpoint", `${"a.".repeat(126)}ab`)],
    ["server port 0", inside("server", "wgPort", 0)],
    ["server key line bad", inside("server", "sshPublicKey", "ssh-dss AAAA")],
    ["server key line too long", inside("server", "sshPublicKey", `ssh-rsa ${"A".repeat(1100)}`)],
    ["server an unknown field", inside("server", "extra", 1)],
    ["server a field missing", (v) => ({ ...v, server: { publicKey: KEY } })],
    ["allowedEngineers empty", set("allowedEngineers", [])],
    ["allowedEngineers twice", set("allowedEngineers", ["bob", "bob"])],
    [
      "allowedEngineers 33",
      set(
        "allowedEngineers",
        Array.from({ length: 33 }, (_, i) => `e${i}`),
      ),
    ],
    [
      "allowedEngineers 32",
      set(
        "allowedEngineers",
        Array.from({ length: 32 }, (_, i) => `e${i}`),
      ),
    ],
    ["allowedPorts 22", set("allowedPorts", [22])],
    ["allowedPorts twice", set("allowedPorts", [80, 80])],
    ["approval without a ticket field", (v) => ({ ...v, approval: { engineer: "alice" } })],
    ["approval with a null ticket", inside("approval", "ticket", null)],
    ["approval an unknown field", inside("approval", "extra", 1)],
    ["approval a bad engineer", inside("approval", "engineer", "Alice")],
    ["notBefore a time", set("notBefore", "2026-12-02T04:00:00+02:00")],
    ["grantedUntil bad", set("grantedUntil", "2026-13-02T04:00:00Z")],
  ];
  const isCheckError = (err: unknown) => err instanceof ValidationError;

  it("reads what storedTunnelRecordSchema reads, with the same output", () => {
    compareChecks(
      rows,
      good,
      (v) => storedTunnelRecordSchema.safeParse(v),
      checkStoredRecord,
      isCheckError,
    );
  });

  it("writes what tunnelRecordSchema accepts, with the same output", () => {
    compareChecks(rows, good, (v) => tunnelRecordSchema.safeParse(v), checkRecord, isCheckError);
  });

  it("caps an old record's expiry at the wire's longest grant", () => {
    assert.equal(ttlSecondsSchema.maxValue, 7 * 24 * 3600);
  });

  it("can fail: a check that takes what the schema refuses is caught", () => {
    assert.throws(() =>
      compareChecks(
        rows,
        good,
        (v) => tunnelRecordSchema.safeParse(v),
        (v) => v,
        isCheckError,
      ),
    );
  });
});
