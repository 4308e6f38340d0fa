// The customer's choices over HTTP on PostgreSQL: stored at the request, shown in
// both views, and enforced at approval (403 for an engineer not allowed, 409
// before the start), with nothing changed by a refused approval.
import assert from "node:assert/strict";
import { ApiError, SupportApiClient, TunnelState, generateKeyPair } from "@support-tunnel/common";
import { queryDatabase } from "@support-tunnel/testkit";
import { http, requestTestTunnel, testApprovalRequest, useTestApi } from "./testing/test-api";

describe("api: the customer's choices (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestApi();
  let admin: SupportApiClient;
  let aliceToken: string;
  let bobToken: string;

  before(async () => {
    admin = client(pg.sut.adminToken);
    aliceToken = (await admin.createEngineer({ name: "alice", role: "operator" })).token;
    bobToken = (await admin.createEngineer({ name: "bob", role: "operator" })).token;
  });

  function client(token?: string): SupportApiClient {
    return new SupportApiClient({ baseUrl: pg.sut.url, token, retries: 0 });
  }

  async function refusal(work: Promise<unknown>): Promise<ApiError> {
    try {
      await work;
    } catch (err) {
      if (err instanceof ApiError) return err;
      throw err;
    }
    throw new Error("expected the api to refuse");
  }

  it("stores the ticket, start and engineers and shows them to engineers and to the device", async () => {
    const start = new Date(pg.sut.clock.now().getTime() + 3600_000).toISOString();
    const { created, deviceClient: device } = await requestTestTunnel(pg.sut.url, {
      ticket: "ABC-123",
      notBefore: start,
      allowedEngineers: ["alice", "carol"],
      ttlSeconds: 1800,
    });
    assert.equal(Date.parse(created.expiresAt), Date.parse(start) + 1800_000, "start + duration");

    const shown = await client(bobToken).getTunnel(created.tunnelId);
    assert.equal(shown.ticket, "ABC-123");
    assert.equal(shown.notBefore, start);
    assert.deepEqual(shown.allowedEngineers, ["alice", "carol"]);
    const listed = (await client(bobToken).listTunnels()).tunnels.find(
      (t) => t.tunnelId === created.tunnelId,
    );
    assert.deepEqual(
      [listed?.ticket, listed?.notBefore, listed?.allowedEngineers],
      ["ABC-123", start, ["alice", "carol"]],
    );
    const own = await device.getDeviceTunnel();
    assert.deepEqual(
      [own.ticket, own.notBefore, own.allowedEngineers],
      ["ABC-123", start, ["alice", "carol"]],
    );
    const [row] = await queryDatabase(
      pg.db.url,
      "SELECT ticket, not_before, allowed_engineers FROM tunnels WHERE id = $1",
      [created.tunnelId],
    );
    assert.deepEqual(row, {
      ticket: "ABC-123",
      not_before: new Date(start),
      allowed_engineers: ["alice", "carol"],
    });
  });

  it("stores the allowed ports sorted, shows them to engineers and the device", async () => {
    const { created, deviceClient: device } = await requestTestTunnel(pg.sut.url, {
      allowedPorts: [443, 80],
    });
    assert.deepEqual((await client(bobToken).getTunnel(created.tunnelId)).allowedPorts, [80, 443]);
    assert.deepEqual((await device.getDeviceTunnel()).allowedPorts, [80, 443]);
    const [row] = await queryDatabase(
      pg.db.url,
      "SELECT allowed_ports FROM tunnels WHERE id = $1",
      [created.tunnelId],
    );
    assert.deepEqual(row, { allowed_ports: [80, 443] });
    const none = await requestTestTunnel(pg.sut.url, {});
    assert.deepEqual((await client(bobToken).getTunnel(none.created.tunnelId)).allowedPorts, []);
  });

  it("shows none chosen for a tunnel requested without choices", async () => {
    const { created } = await requestTestTunnel(pg.sut.url, {});
    const shown = await client(bobToken).getTunnel(created.tunnelId);
    assert.deepEqual([shown.ticket, shown.notBefore, shown.allowedEngineers], [null, null, null]);
  });

  it("refuses with 403 an approval by an engineer the customer did not allow, and changes nothing", async () => {
    const { created, deviceClient: device } = await requestTestTunnel(pg.sut.url, {
      allowedEngineers: ["alice"],
    });
    const err = await refusal(
      client(bobToken).approveTunnel(created.tunnelId, testApprovalRequest(created).body),
    );
    assert.equal(err.status, 403);
    assert.equal(err.message, "the customer allows only alice to approve this tunnel, not bob");

    const after = await client(bobToken).getTunnel(created.tunnelId);
    assert.equal(after.state, TunnelState.Pending);
    assert.equal(after.server, null);
    assert.equal(after.approvedBy, null);
    assert.equal((await device.getDeviceTunnel()).server, null);
    const audit = await client(bobToken).getAudit(created.tunnelId);
    assert.deepEqual(
      audit.entries.map((e) => e.action),
      ["tunnel.request"],
    );

    // An admin is no exception: the customer named who may come in.
    const adminErr = await refusal(
      admin.approveTunnel(created.tunnelId, testApprovalRequest(created).body),
    );
    assert.equal(adminErr.status, 403);
    const approved = await client(aliceToken).approveTunnel(
      created.tunnelId,
      testApprovalRequest(created).body,
    );
    assert.equal(approved.state, TunnelState.Started);
    assert.equal(approved.approvedBy, "alice");
  });

  it("refuses with 409 an approval before the customer's start, changes nothing, and takes it from then on", async () => {
    const start = new Date(pg.sut.clock.now().getTime() + 120_000);
    const { created } = await requestTestTunnel(pg.sut.url, { notBefore: start.toISOString() });
    const err = await refusal(
      client(aliceToken).approveTunnel(created.tunnelId, testApprovalRequest(created).body),
    );
    assert.equal(err.status, 409);
    assert.equal(
      err.message,
      `the customer allows no approval before ${start.toISOString()} (the tunnel's start)`,
    );
    const after = await client(aliceToken).getTunnel(created.tunnelId);
    assert.equal(after.state, TunnelState.Pending);
    assert.equal(after.server, null);

    pg.sut.clock.advance(121);
    const approved = await client(aliceToken).approveTunnel(
      created.tunnelId,
      testApprovalRequest(created).body,
    );
    assert.equal(approved.state, TunnelState.Started);
  });

  it("refuses bad choices in a request, naming the field, and stores nothing", async () => {
    const before = (await client(bobToken).listTunnels()).tunnels.length;
    const base = { deviceWgPublicKey: generateKeyPair().publicKey, network: "10.79.0.0/30" };
    for (const [field, value, status] of [
      ["ticket", "ABC 123", 400],
      ["ticket", "x\u001b[2J", 400],
      ["notBefore", "14:00", 400],
      ["allowedEngineers", [], 400],
      ["allowedEngineers", ["alice", "alice"], 400],
      ["allowedPorts", [80, 80], 400],
      ["allowedPorts", "80", 400],
      ["notBefore", new Date(pg.sut.clock.now().getTime() + 8 * 24 * 3600_000).toISOString(), 400],
    ] as const) {
      const answer = await http(pg.sut.url, "POST", "/v1/device/tunnels", {
        body: { ...base, [field]: value },
      });
      assert.equal(answer.status, status, `${field}=${JSON.stringify(value)}`);
      assert.equal(answer.body.field, field, JSON.stringify(answer.body));
    }
    const named = await http(pg.sut.url, "POST", "/v1/device/tunnels", {
      body: { ...base, allowedEngineers: ["alice", "Bob"] },
    });
    assert.equal(named.status, 400);
    assert.equal(named.body.field, "allowedEngineers.1");
    const ssh = await http(pg.sut.url, "POST", "/v1/device/tunnels", {
      body: { ...base, allowedPorts: [80, 22] },
    });
    assert.equal(ssh.status, 400, "22 is SSH, never an allowed port");
    assert.equal(ssh.body.field, "allowedPorts.1");
    assert.equal((await client(bobToken).listTunnels()).tunnels.length, before);
  });
});
