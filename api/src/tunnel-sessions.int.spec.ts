// Support's sessions as the device reports them, over HTTP on PostgreSQL: who is
// in and since when, shown to engineers with no content; the first one makes a
// running tunnel connected; repeats and racing reports leave one clear record.
import assert from "node:assert/strict";
import { ApiError, SupportApiClient, TunnelState } from "@support-tunnel/common";
import { queryDatabase } from "@support-tunnel/testkit";
import { requestTestTunnel, testApprovalRequest, useTestApi } from "./testing/test-api";

describe("api: support's sessions reported by the device (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestApi();
  let alice: SupportApiClient;

  before(async () => {
    const admin = client(pg.sut.adminToken);
    alice = client((await admin.createEngineer({ name: "alice", role: "operator" })).token);
  });

  function client(token?: string): SupportApiClient {
    return new SupportApiClient({ baseUrl: pg.sut.url, token, retries: 0 });
  }

  /** A tunnel taken as far as `state`: pending, started or running. */
  async function tunnelIn(state: TunnelState) {
    const { created, deviceClient: device } = await requestTestTunnel(pg.sut.url);
    if (state !== TunnelState.Pending) {
      await alice.approveTunnel(
        created.tunnelId,
        testApprovalRequest(created, undefined, {
          instanceId: "netns-st5678",
          publicIp: "198.51.100.8",
        }).body,
      );
    }
    if (state === TunnelState.Running) await device.reportConnected("support0a1b2c3d");
    return { id: created.tunnelId, device };
  }

  const at = (s: number) => new Date(Date.parse("2030-01-01T10:00:00Z") + s * 1000).toISOString();

  it("shows who is in while a session is open, then its end and exit, and makes the tunnel connected", async () => {
    const { id, device } = await tunnelIn(TunnelState.Running);
    await device.reportSession({ session: "0123456789ab", engineer: "alice", startedAt: at(0) });
    const open = await alice.getTunnel(id);
    assert.equal(open.state, TunnelState.Connected);
    assert.deepEqual(open.sessions, [
      {
        session: "0123456789ab",
        engineer: "alice",
        startedAt: at(0),
        endedAt: null,
        exitCode: null,
      },
    ]);

    const closed = { session: "0123456789ab", engineer: "alice", startedAt: at(0) };
    await device.reportSession({ ...closed, endedAt: at(12), exitCode: 0 });
    // Repeated, and a later report that disagrees: the first end stands.
    await device.reportSession({ ...closed, endedAt: at(12), exitCode: 0 });
    await device.reportSession({ ...closed, endedAt: at(99), exitCode: 7 });
    const listed = (await alice.listTunnels()).tunnels.find((t) => t.tunnelId === id)!;
    assert.deepEqual(listed.sessions, [{ ...closed, endedAt: at(12), exitCode: 0 }]);
    assert.equal(listed.state, TunnelState.Connected);

    const actions = (await alice.getAudit(id)).entries.map((e) => `${e.action}: ${e.detail}`);
    assert.deepEqual(actions.slice(-2), [
      `session.open: session 0123456789ab by alice at ${at(0)}`,
      `session.close: session 0123456789ab by alice ended at ${at(12)}, exit 0`,
    ]);
  });

  it("takes a close whose open was lost, and the open and close of one session racing", async () => {
    const { id, device } = await tunnelIn(TunnelState.Running);
    await device.reportSession({
      session: "aaaaaaaaaaaa",
      engineer: "alice",
      startedAt: at(0),
      endedAt: at(1),
      exitCode: 1,
    });
    const race = { session: "bbbbbbbbbbbb", engineer: null, startedAt: at(2) };
    await Promise.all([
      device.reportSession(race),
      device.reportSession({ ...race, endedAt: at(3), exitCode: null }),
    ]);
    const shown = await alice.getTunnel(id);
    assert.deepEqual(
      shown.sessions.map((s) => [s.session, s.endedAt]),
      [
        ["aaaaaaaaaaaa", at(1)],
        ["bbbbbbbbbbbb", at(3)],
      ],
    );
    const rows = await queryDatabase(
      pg.db.url,
      `SELECT count(*)::int AS n FROM audit_entries WHERE tunnel_id = $1 AND action LIKE 'session.%'`,
      [id],
    );
    assert.equal(rows[0]!.n, 4, "each open and close audited once");
  });

  it("refuses a report for a tunnel not approved (409) or a malformed one (400), recording nothing", async () => {
    const { id, device } = await tunnelIn(TunnelState.Pending);
    const refused = await device
      .reportSession({ session: "0123456789ab", engineer: "alice", startedAt: at(0) })
      .then(
        () => null,
        (err: unknown) => err,
      );
    assert.ok(refused instanceof ApiError && refused.status === 409, String(refused));
    const running = await tunnelIn(TunnelState.Running);
    for (const body of [
      { session: "xyz", engineer: "alice", startedAt: at(0) },
      { session: "0123456789ab", engineer: "Alice Smith", startedAt: at(0) },
      { session: "0123456789ab", engineer: "alice", startedAt: at(5), endedAt: at(1) },
      { session: "0123456789ab", engineer: "alice", startedAt: at(0), command: "id" },
    ]) {
      const bad = await running.device.reportSession(body as never).then(
        () => null,
        (err: unknown) => err,
      );
      assert.ok(
        bad instanceof ApiError && bad.status === 400,
        `${JSON.stringify(body)}: ${String(bad)}`,
      );
    }
    assert.deepEqual((await alice.getTunnel(id)).sessions, []);
    const runningView = await alice.getTunnel(running.id);
    assert.deepEqual(runningView.sessions, []);
    assert.equal(runningView.state, TunnelState.Running);
  });

  it("takes a session's close after the tunnel was stopped", async () => {
    const { id, device } = await tunnelIn(TunnelState.Running);
    const session = { session: "cccccccccccc", engineer: "alice", startedAt: at(0) };
    await device.reportSession(session);
    await device.stopDeviceTunnel("done");
    await device.reportSession({ ...session, endedAt: at(4), exitCode: 0 });
    const shown = await alice.getTunnel(id);
    assert.equal(shown.state, TunnelState.Completed);
    assert.equal(shown.sessions[0]!.endedAt, at(4));
  });
});
