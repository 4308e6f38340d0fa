// The way back from an approval that came to nothing (issue 11): the device
// reports that it refused one, or the engineer takes back one the device has not
// acted on. Either takes the tunnel back to pending with the approval cleared,
// so the customer's request stays usable, and wakes whoever is long-polling.
import assert from "node:assert/strict";
import {
  ApiError,
  SupportApiClient,
  TunnelState,
  type TunnelId,
  type WgKeyPair,
} from "@support-tunnel/common";
import { http, requestTestTunnel, testApprovalRequest, useTestApi } from "./testing/test-api";

describe("api: refused and withdrawn approvals (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestApi();
  let admin: SupportApiClient;
  let operatorToken: string;
  let viewerToken: string;

  before(async () => {
    admin = client(pg.sut.adminToken);
    operatorToken = (await admin.createEngineer({ name: "olivia", role: "operator" })).token;
    viewerToken = (await admin.createEngineer({ name: "victor", role: "viewer" })).token;
  });

  function client(token?: string): SupportApiClient {
    return new SupportApiClient({ baseUrl: pg.sut.url, token, retries: 0 });
  }

  /** The approval `create` sends for server lab:ts1. */
  function approval(tunnelId: TunnelId, device: WgKeyPair, expiresAt: string) {
    return testApprovalRequest({ tunnelId, expiresAt }, device, { instanceId: "lab:ts1" }).body;
  }

  async function approvedTunnel() {
    const t = await requestTestTunnel(pg.sut.url);
    await client(operatorToken).approveTunnel(
      t.created.tunnelId,
      approval(t.created.tunnelId, t.device, t.created.expiresAt),
    );
    return t;
  }

  async function actions(id: TunnelId): Promise<string[][]> {
    const { entries } = await admin.getAudit(id);
    return entries.map((e) => [e.action, e.actor, e.detail ?? ""]);
  }

  describe("POST /v1/device/tunnel/refusal", () => {
    it("takes the tunnel back to pending, tells the waiting engineer why, and lets them approve again", async () => {
      const { device, created, deviceClient } = await approvedTunnel();
      const id = created.tunnelId;
      const operator = client(operatorToken);
      // `support create` long-polls while the device judges the approval.
      const waiting = operator.getTunnel(id, { waitSeconds: 20, since: TunnelState.Started });
      const answer = await deviceClient.reportRefusal("psk");
      assert.equal(answer.state, TunnelState.Pending);
      assert.equal(answer.server, null, "the device is pointed nowhere");

      const seen = await waiting;
      assert.equal(seen.state, TunnelState.Pending);
      assert.equal(seen.refusal?.kind, "psk");
      assert.ok(seen.refusal && Date.parse(seen.refusal.at) > 0);
      assert.equal(seen.server, null);
      assert.equal(seen.approvedBy, null);
      assert.equal((await deviceClient.getDeviceTunnel()).server, null);

      const again = await operator.approveTunnel(id, approval(id, device, created.expiresAt));
      assert.equal(again.state, TunnelState.Started);
      assert.equal(again.refusal, null, "a new approval clears the old refusal");
      assert.deepEqual(await actions(id), [
        ["tunnel.request", "device", `network ${again.network}, ttl 7200s`],
        ["tunnel.approve", "engineer:olivia", "netns server lab:ts1 at 198.51.100.7:51820"],
        ["tunnel.refuse", "device", "refused the approval by olivia (server lab:ts1): psk"],
        ["tunnel.approve", "engineer:olivia", "netns server lab:ts1 at 198.51.100.7:51820"],
      ]);
    });

    it("accepts every refusal kind the device has, and nothing else, changing nothing on a bad body", async () => {
      const { created } = await approvedTunnel();
      const token = created.token;
      const path = "/v1/device/tunnel/refusal";
      const bad: [unknown, string][] = [
        [{}, "kind"],
        [{ kind: "nope" }, "kind"],
        [{ kind: "psk", reason: "the customer says hi" }, "reason"],
        [{ kind: 3 }, "kind"],
      ];
      for (const [body, field] of bad) {
        const r = await http(pg.sut.url, "POST", path, { token, body });
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(r.body.field, field);
      }
      const noBody = await http(pg.sut.url, "POST", path, { token });
      assert.equal(noBody.status, 400);
      const text = await http(pg.sut.url, "POST", path, {
        token,
        rawBody: "psk",
        headers: { "content-type": "text/plain" },
      });
      assert.equal(text.status, 415);
      assert.equal((await admin.getTunnel(created.tunnelId)).state, TunnelState.Started);
      assert.equal((await actions(created.tunnelId)).length, 2, "nothing audited");

      for (const kind of [
        "psk",
        "server-key",
        "malformed",
        "version",
        "expired",
        "engineer",
        "ticket",
      ] as const) {
        const { created: c, deviceClient } = await approvedTunnel();
        assert.equal((await deviceClient.reportRefusal(kind)).state, TunnelState.Pending);
        assert.equal((await admin.getTunnel(c.tunnelId)).refusal?.kind, kind);
      }
    });

    it("takes only a device token, and only for that device's own tunnel", async () => {
      const a = await approvedTunnel();
      const b = await approvedTunnel();
      const path = "/v1/device/tunnel/refusal";
      const body = { kind: "psk" };
      assert.equal((await http(pg.sut.url, "POST", path, { body })).status, 401);
      for (const token of [pg.sut.adminToken, operatorToken, `std_${"A".repeat(43)}`]) {
        const r = await http(pg.sut.url, "POST", path, { token, body });
        assert.equal(r.status, 401, `${token.slice(0, 4)}: ${JSON.stringify(r.body)}`);
      }
      await b.deviceClient.reportRefusal("psk");
      assert.equal((await admin.getTunnel(a.created.tunnelId)).state, TunnelState.Started);
      assert.equal((await admin.getTunnel(b.created.tunnelId)).state, TunnelState.Pending);
    });

    it("answers a repeat with the pending view and records it once; refuses it for a tunnel connected or over", async () => {
      const { created, deviceClient } = await approvedTunnel();
      await deviceClient.reportRefusal("server-key");
      const repeat = await deviceClient.reportRefusal("server-key");
      assert.equal(repeat.state, TunnelState.Pending);
      const refusals = (await actions(created.tunnelId)).filter(([a]) => a === "tunnel.refuse");
      assert.equal(refusals.length, 1);

      const running = await approvedTunnel();
      await running.deviceClient.reportConnected("support1a2b");
      await assert.rejects(running.deviceClient.reportRefusal("psk"), (err: unknown) => {
        assert.ok(err instanceof ApiError);
        assert.equal(err.status, 409);
        assert.equal(err.message, "tunnel is not started (state: running)");
        return true;
      });
      assert.equal((await admin.getTunnel(running.created.tunnelId)).state, TunnelState.Running);

      const ended = await approvedTunnel();
      await client(operatorToken).stopTunnel(ended.created.tunnelId);
      await assert.rejects(ended.deviceClient.reportRefusal("psk"), /state: completed/);
      assert.equal(
        (await admin.getTunnel(ended.created.tunnelId)).state,
        TunnelState.Completed,
        "an ended tunnel never comes back",
      );
    });
  });

  describe("DELETE /v1/tunnels/:id/server", () => {
    it("lets the engineer whose server it names take the approval back: pending again, audited", async () => {
      const { created, deviceClient } = await approvedTunnel();
      const id = created.tunnelId;
      const deviceWaiting = deviceClient.getDeviceTunnel({
        waitSeconds: 20,
        since: TunnelState.Started,
      });
      const view = await client(operatorToken).withdrawApproval(id, "lab:ts1");
      assert.equal(view.state, TunnelState.Pending);
      assert.equal(view.server, null);
      assert.equal(view.refusal, null, "a withdrawal is not the device's refusal");
      const deviceSees = await deviceWaiting;
      assert.equal(deviceSees.state, TunnelState.Pending);
      assert.equal(deviceSees.server, null);
      assert.deepEqual((await actions(id)).slice(-1), [
        ["tunnel.withdraw", "engineer:olivia", "approval with server lab:ts1 withdrawn"],
      ]);
      const repeat = await client(operatorToken).withdrawApproval(id, "lab:ts1");
      assert.equal(repeat.state, TunnelState.Pending);
      assert.equal((await actions(id)).length, 3, "a repeat records nothing");
    });

    it("never takes back another server's approval, a connected tunnel's, or a viewer's", async () => {
      const { created, deviceClient } = await approvedTunnel();
      const id = created.tunnelId;
      await assert.rejects(
        client(operatorToken).withdrawApproval(id, "lab:someone-else"),
        (err: unknown) => {
          assert.ok(err instanceof ApiError);
          assert.equal(err.status, 409);
          assert.match(err.message, /not server lab:someone-else's \(approved by olivia\)/);
          return true;
        },
      );
      await assert.rejects(
        client(viewerToken).withdrawApproval(id, "lab:ts1"),
        (err: unknown) => err instanceof ApiError && err.status === 403,
      );
      const bad = await http(pg.sut.url, "DELETE", `/v1/tunnels/${id}/server`, {
        token: operatorToken,
        body: {},
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.field, "instanceId");
      assert.equal((await admin.getTunnel(id)).state, TunnelState.Started);

      await deviceClient.reportConnected("support1a2b");
      await assert.rejects(
        client(operatorToken).withdrawApproval(id, "lab:ts1"),
        /tunnel is running: only an approval the device has not acted on can be withdrawn/,
      );
      assert.equal((await admin.getTunnel(id)).state, TunnelState.Running);
    });
  });
});
