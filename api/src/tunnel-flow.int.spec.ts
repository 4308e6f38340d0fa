import assert from "node:assert/strict";
import {
  ApiError,
  StoppedBy,
  SupportApiClient,
  TunnelState,
  generateKeyPair,
  openApproval,
  type TunnelId,
} from "@support-tunnel/common";
import {
  http,
  requestTestTunnel,
  startTestApi,
  testApprovalRequest,
  useTestApi,
  type TestApi,
} from "./testing/test-api";
import { loggingInto } from "./testing/logged-lines";

describe("api: the device and engineer flow (PostgreSQL)", function () {
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

  /** What the device says about itself in these tests' requests. */
  const KIOSK = { hostname: "kiosk-1", description: "printer queue stuck" };

  it("carries a tunnel from request to approval, connection and an engineer's stop", async () => {
    const { device, created, deviceClient } = await requestTestTunnel(pg.sut.url, KIOSK);
    const operator = client(operatorToken);
    assert.equal((await deviceClient.getDeviceTunnel()).state, TunnelState.Pending);

    // The device long-polls while the engineer approves: it wakes with the server and the approval.
    const waiting = deviceClient.getDeviceTunnel({ waitSeconds: 20, since: TunnelState.Pending });
    const { body, server, psk } = testApprovalRequest(created, device);
    const approved = await operator.approveTunnel(created.tunnelId, body);
    assert.equal(approved.state, TunnelState.Started);
    assert.equal(approved.approvedBy, "olivia");
    const seen = await waiting;
    assert.equal(seen.state, TunnelState.Started);
    assert.equal(seen.server?.wgPublicKey, server.publicKey);
    assert.equal(seen.server?.publicIp, "198.51.100.7");
    assert.equal(seen.server?.wgPort, 51820);
    const opened = openApproval({
      sealed: seen.server.approval,
      tunnelId: created.tunnelId,
      devicePrivateKey: device.privateKey,
      serverPublicKey: server.publicKey,
      psk,
    });
    assert.equal(opened.tunnelId, created.tunnelId);

    const running = await deviceClient.reportConnected("support1a2b");
    assert.equal(running.state, TunnelState.Running);
    const engineerView = await client(viewerToken).getTunnel(created.tunnelId);
    assert.equal(engineerView.supportUser, "support1a2b");
    assert.equal(engineerView.server?.instanceId, "netns-st1234");

    const stopped = await operator.stopTunnel(created.tunnelId, "work done");
    assert.equal(stopped.state, TunnelState.Completed);
    assert.equal(stopped.stoppedBy, StoppedBy.Engineer);
    assert.equal(stopped.stopReason, "work done");
    // The device can still read how its tunnel ended.
    const deviceSees = await deviceClient.getDeviceTunnel();
    assert.equal(deviceSees.state, TunnelState.Completed);
    assert.equal(deviceSees.stoppedBy, StoppedBy.Engineer);

    const { entries } = await client(viewerToken).getAudit(created.tunnelId);
    assert.deepEqual(
      entries.map((e) => [e.action, e.actor]),
      [
        ["tunnel.request", "device"],
        ["tunnel.approve", "engineer:olivia"],
        ["tunnel.connected", "device"],
        ["tunnel.stop", "engineer:olivia"],
      ],
    );
    assert.ok(entries.every((e) => e.clientAddress === "127.0.0.1"));
  });

  it("lets the customer stop the tunnel, and stopping again changes nothing", async () => {
    const { created, deviceClient } = await requestTestTunnel(pg.sut.url, KIOSK);
    const stopped = await deviceClient.stopDeviceTunnel("customer changed their mind");
    assert.equal(stopped.state, TunnelState.Completed);
    assert.equal(stopped.stoppedBy, StoppedBy.Device);
    const again = await deviceClient.stopDeviceTunnel();
    assert.equal(again.stopReason, "customer changed their mind");
    const byEngineer = await client(operatorToken).stopTunnel(created.tunnelId);
    assert.equal(byEngineer.stoppedBy, StoppedBy.Device);
    const { entries } = await admin.getAudit(created.tunnelId);
    assert.equal(entries.filter((e) => e.action === "tunnel.stop").length, 1);
  });

  it("lets exactly one of many concurrent approvals win; the others get 409", async () => {
    const { device, created } = await requestTestTunnel(pg.sut.url, KIOSK);
    const second = await admin.createEngineer({ name: "oscar", role: "operator" });
    const engineers = [client(operatorToken), client(second.token), admin];
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        engineers[i % engineers.length]!.approveTunnel(
          created.tunnelId,
          testApprovalRequest(created, device).body,
        ),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    assert.equal(won.length, 1);
    assert.equal(lost.length, 11);
    for (const r of lost) {
      const err = r.reason as ApiError;
      assert.equal(err.status, 409);
      assert.equal(err.message, "tunnel is not pending (state: started)");
    }
    const { entries } = await admin.getAudit(created.tunnelId);
    assert.equal(entries.filter((e) => e.action === "tunnel.approve").length, 1);
  });

  it("refuses to mark a tunnel running before it is started", async () => {
    const { deviceClient } = await requestTestTunnel(pg.sut.url, KIOSK);
    await assert.rejects(deviceClient.reportConnected("support1a2b"), (err: ApiError) => {
      assert.equal(err.status, 409);
      assert.equal(err.message, "tunnel is not started (state: pending)");
      return true;
    });
  });

  it("expires device tokens with their tunnel and times tunnels out in the sweep", async () => {
    const { device, created, deviceClient } = await requestTestTunnel(pg.sut.url, {
      ...KIOSK,
      ttlSeconds: 60,
    });
    const waiting = client(viewerToken).getTunnel(created.tunnelId, {
      waitSeconds: 20,
      since: TunnelState.Pending,
    });
    pg.sut.clock.advance(61);
    await assert.rejects(deviceClient.getDeviceTunnel(), (err: ApiError) => {
      assert.equal(err.status, 401);
      assert.equal(err.message, "device token expired");
      return true;
    });
    await assert.rejects(
      client(operatorToken).approveTunnel(
        created.tunnelId,
        testApprovalRequest(created, device).body,
      ),
      (err: ApiError) => err.status === 409 && err.message === "tunnel expired",
    );
    const swept = await pg.sut.sweepOnce();
    assert.ok(swept.includes(created.tunnelId));
    assert.deepEqual(await pg.sut.sweepOnce(), []);
    const woken = await waiting;
    assert.equal(woken.state, TunnelState.TimedOut);
    assert.equal(woken.stoppedBy, StoppedBy.Expiry);
    const { entries } = await admin.getAudit(created.tunnelId);
    assert.deepEqual(entries.at(-1)?.action, "tunnel.timeout");
    assert.equal(entries.at(-1)?.actor, "system");
  });

  it("records an engineer's stop of an expired tunnel as expiry", async () => {
    const { created } = await requestTestTunnel(pg.sut.url, { ...KIOSK, ttlSeconds: 60 });
    pg.sut.clock.advance(61);
    const stopped = await client(operatorToken).stopTunnel(created.tunnelId);
    assert.equal(stopped.state, TunnelState.TimedOut);
    assert.equal(stopped.stoppedBy, StoppedBy.Expiry);
    assert.equal(stopped.stopReason, "expired");
    const { entries } = await admin.getAudit(created.tunnelId);
    assert.equal(entries.at(-1)?.action, "tunnel.timeout");
    assert.equal(entries.at(-1)?.actor, "engineer:olivia");
    assert.equal(entries.at(-1)?.detail, "expired");
  });

  it("answers a long-poll at once when the state already differs from `since`", async function () {
    // Held for the full 30 s wait, this would run into the test's timeout.
    this.timeout(20_000);
    const { created } = await requestTestTunnel(pg.sut.url, KIOSK);
    const view = await client(viewerToken).getTunnel(created.tunnelId, {
      waitSeconds: 30,
      since: TunnelState.Started,
    });
    assert.equal(view.state, TunnelState.Pending);
  });

  it("stops holding a long-poll when the client goes away", async () => {
    const { created } = await requestTestTunnel(pg.sut.url, KIOSK);
    const waiting = async () => {
      const text = await (await fetch(`${pg.sut.url}/metrics`)).text();
      return Number(/^support_api_long_polls_waiting (\d+)/m.exec(text)?.[1]);
    };
    const until = async (want: number) => {
      for (let i = 0; i < 100 && (await waiting()) !== want; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return waiting();
    };
    const abort = new AbortController();
    const poll = client(viewerToken).getTunnel(created.tunnelId, {
      waitSeconds: 30,
      signal: abort.signal,
    });
    assert.equal(await until(1), 1);
    abort.abort(new Error("client went away"));
    await assert.rejects(poll, /client went away/);
    assert.equal(await until(0), 0);
  });

  it("grants the default lifetime, or what the device asks for up to the maximum", async () => {
    const lifetime = async (ttlSeconds?: number) => {
      const { created } = await requestTestTunnel(pg.sut.url, ttlSeconds ? { ttlSeconds } : {});
      const view = await client(viewerToken).getTunnel(created.tunnelId);
      return (Date.parse(view.expiresAt) - Date.parse(view.createdAt)) / 1000;
    };
    assert.equal(await lifetime(), 7200);
    assert.equal(await lifetime(600), 600);
    assert.equal(await lifetime(7 * 24 * 3600), 86400);
  });

  it("lists tunnels by state", async () => {
    const { created } = await requestTestTunnel(pg.sut.url, KIOSK);
    const pending = await client(viewerToken).listTunnels(TunnelState.Pending);
    assert.ok(pending.tunnels.some((t) => t.tunnelId === created.tunnelId));
    assert.ok(pending.tunnels.every((t) => t.state === TunnelState.Pending));
    const completed = await client(viewerToken).listTunnels(TunnelState.Completed);
    assert.ok(!completed.tunnels.some((t) => t.tunnelId === created.tunnelId));
  });

  describe("with a second replica on the same database", () => {
    let replica: TestApi | undefined;

    before(async () => {
      replica = await startTestApi(pg.db.url, { SUPPORT_BOOTSTRAP_TOKEN: pg.sut.adminToken });
    });

    after(async () => {
      await replica?.close();
    });

    it("times each expired tunnel out exactly once when replicas sweep at once", async () => {
      const requested = await Promise.all(
        [1, 2, 3, 4, 5].map(() => requestTestTunnel(pg.sut.url, { ...KIOSK, ttlSeconds: 60 })),
      );
      const ids = requested.map((r) => r.created.tunnelId as string);
      pg.sut.clock.advance(61);
      replica!.clock.advance(
        (pg.sut.clock.now().getTime() - replica!.clock.now().getTime()) / 1000,
      );
      const swept = (
        await Promise.all([
          pg.sut.sweepOnce(),
          replica!.sweepOnce(),
          pg.sut.sweepOnce(),
          replica!.sweepOnce(),
        ])
      ).flat();
      for (const id of ids) assert.equal(swept.filter((s) => s === id).length, 1);
      for (const id of ids) {
        const { entries } = await admin.getAudit(id as TunnelId);
        assert.equal(entries.filter((e) => e.action === "tunnel.timeout").length, 1);
      }
    });

    it("wakes a long-poll on one replica when another replica changes the tunnel", async () => {
      const { device, created } = await requestTestTunnel(pg.sut.url, KIOSK);
      const other = new SupportApiClient({ baseUrl: replica!.url, token: viewerToken, retries: 0 });
      const waiting = other.getTunnel(created.tunnelId, {
        waitSeconds: 20,
        since: TunnelState.Pending,
      });
      await client(operatorToken).approveTunnel(
        created.tunnelId,
        testApprovalRequest(created, device).body,
      );
      assert.equal((await waiting).state, TunnelState.Started);
    });
  });

  describe("with the background sweep running", () => {
    let sweeping: TestApi | undefined;

    before(async () => {
      sweeping = await startTestApi(pg.db.url, {
        SUPPORT_BOOTSTRAP_TOKEN: pg.sut.adminToken,
        SUPPORT_SWEEP_INTERVAL_MS: "200",
      });
    });

    after(async () => {
      await sweeping?.close();
    });

    it("times a tunnel out on its own once its time has run out", async () => {
      const api = new SupportApiClient({ baseUrl: sweeping!.url, retries: 0 });
      const created = await api.createTunnel({
        deviceWgPublicKey: generateKeyPair().publicKey,
        network: "10.78.0.0/30",
        ttlSeconds: 60,
      });
      sweeping!.clock.advance(3600);
      const viewer = new SupportApiClient({
        baseUrl: sweeping!.url,
        token: viewerToken,
        retries: 0,
      });
      const ended = await viewer.getTunnel(created.tunnelId, {
        waitSeconds: 20,
        since: TunnelState.Pending,
      });
      assert.equal(ended.state, TunnelState.TimedOut);
      assert.equal(ended.stoppedBy, StoppedBy.Expiry);
    });
  });

  describe("engineers and roles", () => {
    it("tells an engineer who they are", async () => {
      assert.deepEqual(await client(viewerToken).whoami(), { name: "victor", role: "viewer" });
      assert.deepEqual(await admin.whoami(), { name: "admin", role: "admin" });
    });

    it("keeps viewers to reading and operators away from engineer management", async () => {
      const { device, created } = await requestTestTunnel(pg.sut.url, KIOSK);
      const viewer = client(viewerToken);
      const forbidden = (err: ApiError) => err.status === 403;
      await assert.rejects(
        viewer.approveTunnel(created.tunnelId, testApprovalRequest(created, device).body),
        forbidden,
      );
      await assert.rejects(viewer.stopTunnel(created.tunnelId), forbidden);
      await assert.rejects(viewer.createEngineer({ name: "eve", role: "admin" }), forbidden);
      await assert.rejects(
        client(operatorToken).createEngineer({ name: "eve", role: "admin" }),
        forbidden,
      );
      await assert.rejects(client(operatorToken).revokeEngineer("victor"), forbidden);
      assert.equal((await viewer.getTunnel(created.tunnelId)).state, TunnelState.Pending);
    });

    it("refuses missing, unknown and wrong-kind tokens", async () => {
      const { created } = await requestTestTunnel(pg.sut.url, KIOSK);
      const unauthorized = (err: ApiError) => err.status === 401;
      await assert.rejects(client().listTunnels(), unauthorized);
      await assert.rejects(client(`ste_${"A".repeat(43)}`).listTunnels(), unauthorized);
      await assert.rejects(client(created.token).whoami(), unauthorized);
      await assert.rejects(client(viewerToken).getDeviceTunnel(), unauthorized);
      await assert.rejects(client(`std_${"A".repeat(43)}`).getDeviceTunnel(), unauthorized);
    });

    it("shows a new engineer's token once and stops it working when revoked", async () => {
      const made = await admin.createEngineer({ name: "rita", role: "viewer" });
      assert.match(made.token, /^ste_[A-Za-z0-9_-]{43}$/);
      assert.equal((await client(made.token).whoami()).name, "rita");
      await assert.rejects(
        admin.createEngineer({ name: "rita", role: "admin" }),
        (err: ApiError) => err.status === 409,
      );
      await admin.revokeEngineer("rita");
      await assert.rejects(client(made.token).whoami(), (err: ApiError) => err.status === 401);
      await assert.rejects(admin.revokeEngineer("rita"), (err: ApiError) => err.status === 404);
    });
  });

  describe("request logs", () => {
    const lines: Record<string, unknown>[] = [];
    let logged: TestApi | undefined;

    before(async () => {
      logged = await startTestApi(
        pg.db.url,
        { SUPPORT_BOOTSTRAP_TOKEN: pg.sut.adminToken },
        { logger: loggingInto(lines) },
      );
    });

    after(async () => {
      await logged?.close();
    });

    it("answers with the caller's X-Request-Id, or one of its own, and logs each request with it, who called, the tunnel and the time taken, never a token", async () => {
      const created = await fetch(`${logged!.url}/v1/device/tunnels`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "support-case-42" },
        body: JSON.stringify({
          deviceWgPublicKey: generateKeyPair().publicKey,
          network: "10.79.0.0/30",
        }),
      });
      assert.equal(created.headers.get("x-request-id"), "support-case-42");
      const { tunnelId, token } = (await created.json()) as { tunnelId: string; token: string };
      const viewed = await fetch(`${logged!.url}/v1/tunnels/${tunnelId}`, {
        headers: { authorization: `Bearer ${viewerToken}` },
      });
      assert.equal(viewed.status, 200);
      const ownId = viewed.headers.get("x-request-id") ?? "";
      assert.match(ownId, /^[0-9a-f-]{36}$/);
      const device = await fetch(`${logged!.url}/v1/device/tunnel`, {
        headers: { authorization: `Bearer ${token}`, "x-request-id": "device-poll" },
      });
      assert.equal(device.status, 200);

      // A line is written when its answer has gone out, which may be just after the client has it.
      const requests = () => lines.filter((l) => l.msg === "request");
      const byId = (id: string) => requests().find((l) => (l.req as { id?: string }).id === id);
      for (let i = 0; i < 100 && !["support-case-42", ownId, "device-poll"].every(byId); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(
        [byId("support-case-42"), byId(ownId), byId("device-poll")].map((l) => [
          l?.tunnelId,
          l?.actor,
          typeof l?.responseTime,
        ]),
        [
          [tunnelId, undefined, "number"],
          [tunnelId, "engineer:victor", "number"],
          [tunnelId, "device", "number"],
        ],
      );
      const text = JSON.stringify(lines);
      assert.ok(!text.includes(viewerToken) && !text.includes(token), "a token was logged");
      assert.ok(text.includes('"authorization":"[redacted]"'));
    });
  });

  describe("operations", () => {
    it("reports ready, Prometheus metrics with tunnels by state, and an OpenAPI document", async () => {
      assert.equal((await http(pg.sut.url, "GET", "/healthz")).status, 200);
      assert.deepEqual((await http(pg.sut.url, "GET", "/readyz")).body, { status: "ready" });
      const metrics = await (await fetch(`${pg.sut.url}/metrics`)).text();
      assert.match(metrics, /support_api_tunnels\{state="pending"\} \d+/);
      assert.match(
        metrics,
        /support_api_http_requests_total\{method="GET",route="\/v1\/tunnels\/:id"/,
      );
      const doc = (await http(pg.sut.url, "GET", "/openapi.json")).body as {
        paths?: Record<string, unknown>;
      };
      assert.ok(doc.paths?.["/v1/device/tunnels"]);
      assert.ok(doc.paths?.["/v1/tunnels/{id}/server"]);
      const docs = await fetch(`${pg.sut.url}/docs`);
      assert.equal(docs.status, 200);
    });
  });
});
