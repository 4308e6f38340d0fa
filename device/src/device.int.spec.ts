// support-device against the real thing: the api on PostgreSQL, wg-quick with
// wireguard-go, useradd/sudo/sshd, inside a lab whose device host sits behind a
// NAT that drops every inbound connection. The tunnel server is a stand-in made
// here, as an engineer's `support create` would: a WireGuard end in a lab host,
// an egress SSH key made on it, an approval sealed with the PSK the device printed.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { execa } from "execa";
import {
  generateKeyPair,
  generatePresharedKey,
  interfaceName,
  renderWgQuickConfig,
  sealApproval,
  serverWgConfig,
  SupportApiClient,
  tunnelAddresses,
  TunnelState,
  type PresharedKey,
  type TunnelId,
} from "@support-tunnel/common";
import {
  createLab,
  missingLab,
  pathOf,
  startApiProcess,
  startRewritingProxy,
  API_BIN,
  type ApiProcess,
  type Lab,
  type LabHost,
  type ProxiedExchange,
} from "@support-tunnel/lab";
import {
  createTestDatabase,
  missingPostgres,
  queryDatabase,
  requirePrerequisite,
  waitFor,
  type TestDatabase,
} from "@support-tunnel/testkit";

const DEVICE_BIN = path.resolve(__dirname, "bin.js");

interface Requested {
  tunnelId: TunnelId;
  presharedKey: PresharedKey;
  expiresAt: string;
  notBefore: string | null;
}

describe("support-device in the lab", function () {
  this.timeout(120_000);
  let lab: Lab | undefined;
  let device: LabHost;
  let server: LabHost;
  let db: TestDatabase | undefined;
  let api: ApiProcess | undefined;
  let engineer: SupportApiClient;
  let engineerToken: string;
  let egressPublicKey: string;
  let nextPort = 51820;

  before(async function () {
    this.timeout(180_000);
    requirePrerequisite(this, missingLab());
    requirePrerequisite(this, await missingPostgres());
    lab = await createLab();
    device = await lab.addHost("device", { behindNat: true });
    server = await lab.addHost("server");
    db = await createTestDatabase();
    api = await startApiProcess({ databaseUrl: db.url, host: lab.rootAddress });
    const added = await execa(
      process.execPath,
      [API_BIN, "engineer", "add", "alice", "--role", "operator"],
      {
        env: { DATABASE_URL: db.url },
        timeout: 60_000,
      },
    );
    engineerToken = added.stdout.trim().split("\n").pop()!;
    engineer = new SupportApiClient({ baseUrl: api.url, token: engineerToken });
    await device.startSshd();
    await server.exec(
      "ssh-keygen",
      ["-q", "-t", "ed25519", "-N", "", "-C", "egress", "-f", "/root/egress"],
      {
        reject: true,
      },
    );
    egressPublicKey = (await server.readFile("/root/egress.pub")).trim();
  });

  after(async () => {
    await api?.stop();
    await lab?.destroy();
    await db?.drop();
  });

  /** Starts the agent in the device host; its output is kept for failure messages. */
  function startAgent(args: string[] = []) {
    const child = device.spawn(process.execPath, [DEVICE_BIN, "agent", ...args], {
      stdin: "ignore",
      all: true,
      buffer: false,
    });
    let output = "";
    const started = Date.now();
    child.all?.on(
      "data",
      (d: Buffer) => (output += `[+${Date.now() - started}ms] ${d.toString()}`),
    );
    return {
      output: () => output,
      async kill(signal: NodeJS.Signals) {
        child.kill(signal);
        await child;
      },
    };
  }

  /** waitFor, with the agent's own words in the failure. */
  async function waitForAgent(
    agent: { output(): string },
    check: () => Promise<boolean>,
    what: string,
    timeoutMs: number,
  ) {
    try {
      await waitFor(check, what, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; agent said:\n${agent.output()}`);
    }
  }

  /** Runs support-device in the device host. */
  function supportDevice(args: string[], timeoutMs = 60_000) {
    return device.exec(process.execPath, [DEVICE_BIN, ...args], { timeoutMs });
  }

  async function request(apiUrl = api!.url, extra: string[] = []): Promise<Requested> {
    const result = await supportDevice(["request", "--json", "--api", apiUrl, ...extra]);
    assert.equal(result.exitCode, 0, result.stderr);
    return JSON.parse(result.stdout) as Requested;
  }

  interface ApproveOptions {
    /** Seal with this PSK instead of the one the customer sent. */
    psk?: PresharedKey;
    /** Tell the api another server key than the one that sealed. */
    reportOtherKey?: boolean;
    tamper?: boolean;
    expiresAt?: string;
    client?: SupportApiClient;
    /** Who the approval says approved; default alice, whose token the test posts with. */
    engineer?: string;
    /** The ticket sealed in; default the one the engineer is shown. */
    ticket?: string;
  }

  /** What `support create` does: the server's WireGuard end, then a sealed approval posted to the api. */
  async function approve(tunnel: Requested, options: ApproveOptions = {}) {
    const client = options.client ?? engineer;
    const view = await client.getTunnel(tunnel.tunnelId);
    const keys = generateKeyPair();
    const wgPort = nextPort++;
    const iface = interfaceName(tunnel.tunnelId, "server");
    const config = renderWgQuickConfig(
      serverWgConfig({
        serverPrivateKey: keys.privateKey,
        psk: tunnel.presharedKey,
        network: view.network,
        devicePublicKey: view.deviceWgPublicKey,
        listenPort: wgPort,
      }),
    );
    await server.writeFile(`/root/${iface}.conf`, config, 0o600);
    await server.exec("wg-quick", ["up", `/root/${iface}.conf`], { reject: true });
    let approval = sealApproval({
      payload: {
        tunnelId: tunnel.tunnelId,
        serverWgPublicKey: keys.publicKey,
        endpoint: server.address,
        wgPort,
        sshPublicKey: egressPublicKey,
        expiresAt: options.expiresAt ?? view.expiresAt,
        engineer: options.engineer ?? "alice",
        ...((options.ticket ?? view.ticket) ? { ticket: options.ticket ?? view.ticket! } : {}),
      },
      serverPrivateKey: keys.privateKey,
      devicePublicKey: view.deviceWgPublicKey,
      psk: options.psk ?? tunnel.presharedKey,
    });
    if (options.tamper) {
      const raw = Buffer.from(approval, "base64");
      raw[60]! ^= 0x01;
      approval = raw.toString("base64");
    }
    await client.approveTunnel(tunnel.tunnelId, {
      instanceId: `lab-${tunnel.tunnelId.slice(0, 8)}`,
      provider: "netns",
      publicIp: server.address,
      wgPort,
      wgPublicKey: options.reportOtherKey ? generateKeyPair().publicKey : keys.publicKey,
      approval,
    });
    return { iface, network: view.network };
  }

  async function removeServerEnd(tunnelId: string): Promise<void> {
    const iface = interfaceName(tunnelId, "server");
    await server.exec("wg-quick", ["down", `/root/${iface}.conf`]);
  }

  /** What is left of a tunnel on the device host: interface, users, sudoers files, state. */
  async function leftovers(tunnelId: string): Promise<string[]> {
    const iface = interfaceName(tunnelId, "device");
    const left: string[] = [];
    if ((await device.exec("ip", ["link", "show", iface])).exitCode === 0)
      left.push(`interface ${iface}`);
    const passwd = await device.readFile("/etc/passwd");
    for (const line of passwd.split("\n"))
      if (/^support[0-9a-f]+:/.test(line)) left.push(`user ${line.split(":")[0]}`);
    const sudoers = await device.exec("ls", ["-A", "/etc/sudoers.d"]);
    for (const f of sudoers.stdout.split("\n"))
      if (f.startsWith("support") || f.startsWith(".support")) left.push(`sudoers ${f}`);
    const homes = await device.exec("ls", ["-A", "/home"]);
    for (const h of homes.stdout.split("\n")) if (h.startsWith("support")) left.push(`home ${h}`);
    if (
      (await device.exec("test", ["-e", `/var/lib/support-tunnel/tunnels/${tunnelId}.json`]))
        .exitCode === 0
    ) {
      left.push("state file");
    }
    return left;
  }

  /** From the server host, over the tunnel, as the support user with the egress key. */
  async function sshAsSupport(user: string, network: string, command: string[]) {
    const addrs = tunnelAddresses(network);
    let last = { stdout: "", stderr: "", exitCode: -1 };
    // The first WireGuard handshake comes from the device (it is behind NAT): retry until it has.
    for (let attempt = 0; attempt < 6; attempt++) {
      last = await server.exec(
        "ssh",
        [
          "-i",
          "/root/egress",
          "-o",
          "BatchMode=yes",
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-o",
          "ConnectTimeout=5",
          "-o",
          "LogLevel=ERROR",
          `${user}@${addrs.device}`,
          "--",
          ...command,
        ],
        { timeoutMs: 20_000 },
      );
      if (last.exitCode !== 255) return last;
    }
    return last;
  }

  it("connects an approved tunnel, lets support in with sudo over it, and stop leaves nothing behind", async () => {
    const tunnel = await request();
    assert.match(tunnel.presharedKey, /^[A-Za-z0-9+/]{43}=$/);
    try {
      const { network } = await approve(tunnel);

      const connected = await supportDevice(["connect", tunnel.tunnelId, "--json"]);
      assert.equal(connected.exitCode, 0, connected.stderr);
      const { supportUser } = JSON.parse(connected.stdout) as { supportUser: string };
      assert.match(supportUser, /^support[0-9a-f]{8}$/);

      const root = await sshAsSupport(supportUser, network, ["sudo", "-n", "id", "-u"]);
      assert.equal(root.stdout.trim(), "0", root.stderr);
      const keys = await device.readFile(`/home/${supportUser}/.ssh/authorized_keys`);
      assert.match(
        keys,
        new RegExp(
          `^from="${tunnelAddresses(network).server}",no-agent-forwarding,no-X11-forwarding`,
        ),
      );
      assert.equal((await engineer.getTunnel(tunnel.tunnelId)).supportUser, supportUser);
      const uid = Number((await device.exec("id", ["-u", supportUser])).stdout);
      assert.ok(uid >= 100_000, `support user uid ${uid} is in this lab's own range`);

      const stopped = await supportDevice(["stop", tunnel.tunnelId]);
      assert.equal(stopped.exitCode, 0, stopped.stderr);
      assert.deepEqual(await leftovers(tunnel.tunnelId), []);
      assert.equal((await engineer.getTunnel(tunnel.tunnelId)).state, "completed");
      const again = await supportDevice(["stop", tunnel.tunnelId]);
      assert.equal(again.exitCode, 0, "stop is idempotent");
    } finally {
      await supportDevice(["stop", tunnel.tunnelId]);
      await removeServerEnd(tunnel.tunnelId);
    }
  });

  for (const [title, options, kind] of [
    ["refuses a tampered approval with exit 3 and creates nothing", { tamper: true }, "psk"],
    [
      "refuses an approval sealed with a wrong PSK with exit 3 and creates nothing",
      { psk: generatePresharedKey() },
      "psk",
    ],
    [
      "refuses an approval whose server key is not the one the api reports with exit 3 and creates nothing",
      { reportOtherKey: true },
      "server-key",
    ],
  ] as const) {
    it(`${title}; tells support why and the customer what to run next`, async () => {
      const tunnel = await request();
      try {
        await approve(tunnel, options);
        const result = await supportDevice(["connect", tunnel.tunnelId]);
        assert.equal(result.exitCode, 3, result.stderr);
        assert.match(result.stderr, /refusing the approval/);
        assert.match(
          result.stderr,
          new RegExp(
            `Support has been told and can approve again; your request stays open\\..*Once they have approved again, run: support-device connect ${tunnel.tunnelId}`,
          ),
        );
        const left = await leftovers(tunnel.tunnelId);
        assert.deepEqual(left, ["state file"], "only the request itself remains");
        const shown = await engineer.getTunnel(tunnel.tunnelId);
        assert.equal(shown.state, "pending", "approvable again");
        assert.equal(shown.refusal?.kind, kind);
      } finally {
        await supportDevice(["stop", tunnel.tunnelId]);
        await removeServerEnd(tunnel.tunnelId);
      }
    });
  }

  it("gc removes an interface, a user and a sudoers file that no tunnel owns", async () => {
    const orphanUser = "support0badc0de";
    const orphanLink = "std0badc0de0000";
    try {
      await device.exec(
        "useradd",
        [
          "--create-home",
          "--user-group",
          "--comment",
          "support-tunnel (left by a crash)",
          orphanUser,
        ],
        { reject: true },
      );
      // An administrator's own account of the same shape, without our marker: never touched.
      await device.exec("useradd", ["--no-create-home", "support0ddba110"], { reject: true });
      await device.writeFile(
        `/etc/sudoers.d/${orphanUser}`,
        `# support-tunnel: left by a crash\n${orphanUser} ALL=(ALL) NOPASSWD: ALL\n`,
        0o440,
      );
      await device.exec(
        "ip",
        ["link", "add", orphanLink, "type", "veth", "peer", "name", "stx0badc0de0000"],
        {
          reject: true,
        },
      );

      const result = await supportDevice(["gc", "--json"]);

      assert.equal(result.exitCode, 0, result.stderr);
      const removed = JSON.parse(result.stdout) as {
        removedInterfaces: string[];
        removedUsers: string[];
      };
      assert.deepEqual(removed.removedInterfaces, [orphanLink]);
      assert.deepEqual(removed.removedUsers, [orphanUser]);
      assert.deepEqual(await leftovers("00000000-0000-4000-8000-000000000000"), [
        "user support0ddba110",
      ]);
    } finally {
      await device.exec("userdel", ["--remove", orphanUser]);
      await device.exec("userdel", ["support0ddba110"]);
      await device.exec("rm", ["-f", `/etc/sudoers.d/${orphanUser}`]);
      await device.exec("ip", ["link", "del", orphanLink]);
    }
  });

  it("tears the tunnel down at expiry while the api is unreachable", async () => {
    // A second api on the same database, so stopping it leaves the other tests theirs.
    const api2 = await startApiProcess({ databaseUrl: db!.url, host: lab!.rootAddress });
    const client2 = new SupportApiClient({ baseUrl: api2.url, token: engineerToken });
    const tunnel = await request(api2.url);
    const agent = startAgent();
    try {
      // The engineer granted less time than the customer: the approval's expiry wins.
      const expiresAt = new Date(Date.now() + 20_000).toISOString();
      await approve(tunnel, { expiresAt, client: client2 });
      await waitForAgent(
        agent,
        async () =>
          (await device.exec("ip", ["link", "show", interfaceName(tunnel.tunnelId, "device")]))
            .exitCode === 0,
        "the agent to connect",
        30_000,
      );
      await api2.stop();

      await waitForAgent(
        agent,
        async () => (await leftovers(tunnel.tunnelId)).length === 0,
        "teardown at expiry",
        60_000,
      );
    } finally {
      await agent.kill("SIGTERM");
      await api2.stop();
      await supportDevice(["stop", tunnel.tunnelId]);
      await removeServerEnd(tunnel.tunnelId);
    }
  });

  /** The device's own routes: what a lying api between the device and the real one answers. */
  function isDeviceAnswer(exchange: ProxiedExchange): boolean {
    const route = `${exchange.method} ${pathOf(exchange)}`;
    return (
      exchange.status < 300 &&
      (route === "POST /v1/device/tunnels" || route === "GET /v1/device/tunnel")
    );
  }

  it("keeps the customer's deadline when a lying api and a fooled engineer say 30 days, and tears the tunnel down at it", async function () {
    this.timeout(180_000);
    const days30 = 30 * 24 * 3600_000;
    const proxy = await startRewritingProxy({
      upstream: api!.url,
      host: lab!.rootAddress,
      rewrite: (exchange) => {
        if (!isDeviceAnswer(exchange)) return undefined;
        const body = exchange.body as { expiresAt: string };
        return { ...body, expiresAt: new Date(Date.parse(body.expiresAt) + days30).toISOString() };
      },
    });
    const asked = Date.now();
    const requested = await supportDevice(["request", "--json", "--api", proxy.url, "--ttl", "60"]);
    const answered = Date.now();
    assert.equal(requested.exitCode, 0, requested.stderr);
    const tunnel = JSON.parse(requested.stdout) as Requested;
    assert.match(
      requested.stderr,
      new RegExp(
        `the api says tunnel ${tunnel.tunnelId} expires at .*, later than the .* granted here; keeping`,
      ),
    );
    const agent = startAgent();
    try {
      // The engineer, shown the api's 30 days, seals them into the approval.
      await approve(tunnel, {
        client: new SupportApiClient({ baseUrl: proxy.url, token: engineerToken }),
        expiresAt: new Date(Date.now() + days30).toISOString(),
      });
      await waitForAgent(
        agent,
        async () =>
          (await device.exec("ip", ["link", "show", interfaceName(tunnel.tunnelId, "device")]))
            .exitCode === 0,
        "the agent to connect",
        30_000,
      );
      const status = await supportDevice(["status", tunnel.tunnelId, "--json"]);
      assert.equal(status.exitCode, 0, status.stderr);
      const { expiresAt, grantedUntil } = JSON.parse(status.stdout) as {
        expiresAt: string;
        grantedUntil: string;
      };
      // The device's own clock at the request, plus the 60 seconds the customer chose.
      const deadline = Date.parse(expiresAt);
      assert.ok(
        deadline >= asked + 60_000 && deadline <= answered + 60_000,
        `expires at ${expiresAt}, not 60 s after the request`,
      );
      assert.equal(grantedUntil, expiresAt);
      assert.match(agent.output(), /the api says tunnel .* later than .* granted here; keeping/);
      assert.match(
        agent.output(),
        /the approval says tunnel .* later than .* granted here; keeping/,
      );

      // The lying api goes quiet: the device alone must end what it granted.
      await proxy.close();
      await waitForAgent(
        agent,
        async () => (await leftovers(tunnel.tunnelId)).length === 0,
        "teardown at the device's own deadline",
        120_000,
      );
    } finally {
      await agent.kill("SIGTERM");
      await proxy.close();
      await supportDevice(["stop", tunnel.tunnelId]);
      await removeServerEnd(tunnel.tunnelId);
    }
  });

  it("refuses with exit 3 an approval a lying api breaks the format of, and creates nothing", async () => {
    const proxy = await startRewritingProxy({ upstream: api!.url, host: lab!.rootAddress });
    const tunnel = await request(proxy.url);
    try {
      for (const [what, approval] of [
        ["not base64", "not base64!"],
        ["too short", "AAAA"],
        ["too long", "A".repeat(8000)],
      ] as const) {
        // Each refusal takes the tunnel back to pending: approved afresh each time.
        await removeServerEnd(tunnel.tunnelId);
        await approve(tunnel);
        proxy.setRewrite((exchange) => {
          if (!isDeviceAnswer(exchange) || exchange.method !== "GET") return undefined;
          const body = exchange.body as { server: object };
          return { ...body, server: { ...body.server, approval } };
        });
        const result = await supportDevice(["connect", tunnel.tunnelId]);
        assert.equal(result.exitCode, 3, `${what}: ${result.stderr}`);
        assert.match(
          result.stderr,
          /refusing the approval .*: approval is malformed.*nothing was set up/,
        );
        assert.deepEqual(await leftovers(tunnel.tunnelId), ["state file"], what);
        assert.equal((await engineer.getTunnel(tunnel.tunnelId)).refusal?.kind, "malformed");
      }
    } finally {
      await supportDevice(["stop", tunnel.tunnelId]);
      await proxy.close();
      await removeServerEnd(tunnel.tunnelId);
    }
  });

  it("leaves a working tunnel after the agent is killed in the middle of connecting and restarted, and tears it down when the engineer stops it", async () => {
    // A post-up hook that hangs the first time: the agent is killed while the
    // interface and the user already exist but the tunnel is not yet `up`.
    await device.writeFile(
      "/etc/support-tunnel/hang-once",
      "#!/bin/sh\n[ -e /root/hung ] && exit 0\necho $$ > /root/hung\nexec sleep 20\n",
      0o755,
    );
    await device.writeFile(
      "/etc/support-tunnel/crash.json",
      JSON.stringify({ hooks: { postUp: ["/etc/support-tunnel/hang-once", "{id}"] } }),
      0o644,
    );
    const config = ["--config", "/etc/support-tunnel/crash.json"];
    const tunnel = await request(api!.url, config);
    let agent = startAgent(config);
    try {
      const { network } = await approve(tunnel);
      await waitForAgent(
        agent,
        async () => (await device.exec("test", ["-e", "/root/hung"])).exitCode === 0,
        "the hook to run",
        30_000,
      );
      await agent.kill("SIGKILL");

      agent = startAgent(config);
      await waitForAgent(
        agent,
        async () => {
          const status = await supportDevice(["status", tunnel.tunnelId, "--json"]);
          return (
            status.exitCode === 0 && (JSON.parse(status.stdout) as { phase: string }).phase === "up"
          );
        },
        "the restarted agent to bring the tunnel up",
        60_000,
      );
      const { supportUser } = JSON.parse(
        (await supportDevice(["status", tunnel.tunnelId, "--json"])).stdout,
      ) as { supportUser: string };
      assert.match(agent.output(), /cleaning up the half-done tunnel/);
      const root = await sshAsSupport(supportUser, network, ["sudo", "-n", "id", "-u"]);
      assert.equal(root.stdout.trim(), "0", root.stderr);

      // The engineer ends it: the agent, long-polling, tears it down on its own.
      await engineer.stopTunnel(tunnel.tunnelId, "done");
      await waitForAgent(
        agent,
        async () => (await leftovers(tunnel.tunnelId)).length === 0,
        "the agent to tear down the tunnel the engineer stopped",
        30_000,
      );
    } finally {
      await agent.kill("SIGTERM");
      await supportDevice(["stop", tunnel.tunnelId]);
      await removeServerEnd(tunnel.tunnelId);
      // the hung hook (its pid, written by itself) must not outlive the test
      const hung = (await device.exec("cat", ["/root/hung"])).stdout.trim();
      if (/^\d+$/.test(hung)) await device.exec("kill", ["-KILL", hung]);
    }
    assert.deepEqual(await leftovers(tunnel.tunnelId), []);
  });
  describe("a tunnel whose interface dies", () => {
    /** Kills the tunnel's wireguard-go with SIGKILL, as a lost terminal or an OOM kill would, and waits for its interface to go. */
    async function killWireguardGo(iface: string) {
      const killed = await device.exec("pkill", ["-KILL", "-x", "-f", `wireguard-go ${iface}`]);
      assert.equal(killed.exitCode, 0, `no wireguard-go for ${iface}: ${killed.stderr}`);
      await waitFor(
        async () => (await device.exec("ip", ["link", "show", iface])).exitCode !== 0,
        "the interface to go with its wireguard-go",
        10_000,
      );
    }

    async function status(tunnelId: string) {
      const result = await supportDevice(["status", tunnelId, "--json"]);
      assert.equal(result.exitCode, 0, result.stderr);
      return JSON.parse(result.stdout) as {
        phase: string;
        linkDown: string | null;
        supportUser: string;
        latestHandshakeAt: string | null;
      };
    }

    it("is reported down by status and brought back by the agent, at its start and while it runs", async function () {
      this.timeout(240_000);
      const tunnel = await request();
      const iface = interfaceName(tunnel.tunnelId, "device");
      let agent: ReturnType<typeof startAgent> | undefined;
      try {
        const { network } = await approve(tunnel);
        assert.equal((await supportDevice(["connect", tunnel.tunnelId])).exitCode, 0);
        const { supportUser } = await status(tunnel.tunnelId);
        const root = await sshAsSupport(supportUser, network, ["sudo", "-n", "id", "-u"]);
        assert.equal(root.stdout.trim(), "0", root.stderr);
        await waitFor(
          async () => (await status(tunnel.tunnelId)).linkDown === null,
          "status to see the handshake",
          20_000,
        );

        await killWireguardGo(iface);

        const down = await status(tunnel.tunnelId);
        assert.equal(down.phase, "up");
        assert.match(down.linkDown ?? "", new RegExp(`its interface ${iface} is gone`));
        const text = await supportDevice(["status", tunnel.tunnelId]);
        assert.match(text.stdout, /phase: up, but the tunnel is DOWN/);

        // An agent that starts finds it dead and sets it up again from its approval.
        agent = startAgent();
        await waitForAgent(
          agent,
          async () => (await status(tunnel.tunnelId)).linkDown === null,
          "the agent to bring the tunnel back at its start",
          60_000,
        );
        const again = await status(tunnel.tunnelId);
        const back = await sshAsSupport(again.supportUser, network, ["sudo", "-n", "id", "-u"]);
        assert.equal(back.stdout.trim(), "0", back.stderr);

        // While it runs, the agent brings the interface back, keeping the support user.
        await killWireguardGo(iface);
        await waitForAgent(
          agent,
          async () => /is back up/.test(agent!.output()),
          "the agent to bring the interface back",
          90_000,
        );
        const restored = await status(tunnel.tunnelId);
        assert.equal(restored.supportUser, again.supportUser);
        const still = await sshAsSupport(again.supportUser, network, ["sudo", "-n", "id", "-u"]);
        assert.equal(still.stdout.trim(), "0", still.stderr);
      } finally {
        await agent?.kill("SIGTERM");
        await supportDevice(["stop", tunnel.tunnelId]);
        await removeServerEnd(tunnel.tunnelId);
      }
      assert.deepEqual(await leftovers(tunnel.tunnelId), []);
    });

    it("stays up after `request --wait` under a terminal that closes (script)", async function () {
      this.timeout(180_000);
      // `script` runs the command on a terminal of its own and closes it when the
      // command ends: the session's processes get SIGHUP, as under `ssh -t host ...`.
      const command = [process.execPath, DEVICE_BIN, "request", "--wait", "--json"]
        .concat(["--api", api!.url])
        .join(" ");
      const child = device.spawn("script", ["-qfec", command, "/dev/null"], {
        stdin: "ignore",
        all: true,
        buffer: false,
      });
      let output = "";
      child.all?.on("data", (d: Buffer) => (output += d.toString()));
      let tunnel: Requested | undefined;
      try {
        await waitFor(
          async () => /\{[^]*"presharedKey"[^]*\}/.test(output),
          "request to print the tunnel",
          60_000,
        );
        tunnel = JSON.parse(/\{[^]*?\}/.exec(output)![0]) as Requested;
        const { network } = await approve(tunnel);
        const done = await child;
        assert.equal(done.exitCode, 0, output);
        assert.match(output, /connected: support user/);

        const { supportUser, linkDown } = JSON.parse(
          (await supportDevice(["status", tunnel.tunnelId, "--json"])).stdout,
        ) as { supportUser: string; linkDown: string | null };
        assert.doesNotMatch(linkDown ?? "", /is gone/);
        const root = await sshAsSupport(supportUser, network, ["sudo", "-n", "id", "-u"]);
        assert.equal(root.stdout.trim(), "0", `${root.stderr}\n${output}`);
      } finally {
        child.kill("SIGKILL");
        if (tunnel) {
          await supportDevice(["stop", tunnel.tunnelId]);
          await removeServerEnd(tunnel.tunnelId);
        }
      }
    });
  });

  describe("the session record", () => {
    /** What `support` does to each argument of a remote command (admin's shellQuote). */
    const quote = (argv: readonly string[]) =>
      argv
        .map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
        .join(" ");
    const sshOptions = [
      "-i",
      "/root/egress",
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "LogLevel=ERROR",
    ];

    /**
     * A shell with a terminal over the tunnel, as `support connect` opens one
     * (`ssh -tt ... 'sudo' '-i'` under `script`): types `line` once a prompt shows, then exits.
     */
    async function shellOverTunnel(user: string, network: string, line: string): Promise<string> {
      const ssh = [
        "ssh",
        ...sshOptions,
        "-tt",
        `${user}@${tunnelAddresses(network).device}`,
        "--",
        quote(["sudo", "-i"]),
      ];
      const child = server.spawn("script", ["-qfec", quote(ssh), "/dev/null"], {
        env: { TERM: "xterm" },
        stdin: "pipe",
        timeout: 60_000,
      });
      let output = "";
      let typed = false;
      child.stdout?.on("data", (d: Buffer) => {
        output += d.toString();
        if (!typed && /# ?$/.test(output.trimEnd() + " ")) {
          typed = true;
          child.stdin?.write(`${line}\nexit\n`);
        }
      });
      const result = await child;
      assert.equal(result.exitCode, 0, output);
      return output;
    }

    it("records a command and a shell over the tunnel, shows them in log, sessions and replay, and keeps them after stop", async function () {
      this.timeout(180_000);
      const tunnel = await request();
      try {
        const { network } = await approve(tunnel);
        const connected = await supportDevice(["connect", tunnel.tunnelId, "--json"]);
        assert.equal(connected.exitCode, 0, connected.stderr);
        const { supportUser } = JSON.parse(connected.stdout) as { supportUser: string };

        // What `support command` sends: every argument quoted, behind `sudo -n --`.
        const command = await sshAsSupport(supportUser, network, [
          quote([
            "sudo",
            "-n",
            "--",
            "sh",
            "-c",
            "echo recorded-output; echo to-stderr >&2; exit 3",
          ]),
        ]);
        assert.equal(command.exitCode, 3, command.stderr);
        assert.equal(command.stdout, "recorded-output");
        assert.equal(command.stderr.trim(), "to-stderr");

        const shell = await shellOverTunnel(supportUser, network, "echo typed-$((6*7)) $(id -u)");
        assert.match(shell, /typed-42 0/);

        // Asking for something else than what `support` sends does not get around the record.
        const other = await sshAsSupport(supportUser, network, ["/bin/sh", "-c", "'id -un'"]);
        assert.equal(other.stdout.trim(), supportUser, other.stderr);
        // Nor does asking for no session at all, only a forwarded port.
        const forward = await server.exec(
          "ssh",
          [
            ...sshOptions,
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            "0:127.0.0.1:22",
            `${supportUser}@${tunnelAddresses(network).device}`,
          ],
          { timeoutMs: 30_000 },
        );
        assert.equal(forward.exitCode, 255, forward.stderr);
        assert.match(forward.stderr, /forwarding failed/);

        const stopped = await supportDevice(["stop", tunnel.tunnelId]);
        assert.equal(stopped.exitCode, 0, stopped.stderr);
        assert.deepEqual(await leftovers(tunnel.tunnelId), [], "the account is gone");

        // The customer reads what support did, after the tunnel and its account are gone.
        const log = await supportDevice(["log", tunnel.tunnelId]);
        assert.equal(log.exitCode, 0, log.stderr);
        const lines = log.stdout.split("\n").map((l) => l.replace(/^ {2}\S+ \S+ {2}/, ""));
        const wanted = [
          /^requested by the customer \(until /,
          /^approved by alice, until .* \(tunnel server .*\)$/,
          new RegExp(`^connected: support may log in as ${supportUser}$`),
          new RegExp(
            `^alice ran: sh -c 'echo recorded-output; echo to-stderr >&2; exit 3' \\(exit 3, [0-9.]+ s\\)  \\[[0-9a-f]{12}\\]$`,
          ),
          new RegExp(
            `^alice opened a shell \\d\\d:\\d\\d–\\d\\d:\\d\\d \\(.*, exit 0\\)  \\[[0-9a-f]{12}\\]$`,
          ),
          new RegExp(`^alice ran: /bin/sh -c 'id -un' \\(exit 0, [0-9.]+ s\\)`),
          /^stopped by the customer$/,
        ];
        assert.equal(lines.length, wanted.length + 1, log.stdout);
        wanted.forEach((re, i) => assert.match(lines[i + 1]!, re, log.stdout));

        const listed = await supportDevice(["sessions", tunnel.tunnelId, "--json"]);
        const { sessions } = JSON.parse(listed.stdout) as {
          sessions: {
            session: string;
            kind: string;
            exitCode: number;
            pty: boolean;
            supportUser: string;
          }[];
        };
        assert.deepEqual(
          sessions.map((s) => [s.kind, s.exitCode, s.pty, s.supportUser]),
          [
            ["command", 3, false, supportUser],
            ["shell", 0, true, supportUser],
            ["command", 0, false, supportUser],
          ],
        );

        // sudo's I/O log holds what was typed and shown.
        const replayed = await supportDevice(["replay", sessions[1]!.session, "--speed", "1000"]);
        assert.equal(replayed.exitCode, 0, replayed.stderr);
        assert.match(replayed.stdout, /echo typed-\$\(\(6\*7\)\) \$\(id -u\)/);
        assert.match(replayed.stdout, /typed-42 0/);
        const cast = await supportDevice(["replay", sessions[0]!.session, "--cast"]);
        assert.equal(cast.exitCode, 0, cast.stderr);
        const [header, ...events] = cast.stdout.split("\n").map((l) => JSON.parse(l) as unknown);
        assert.equal((header as { version: number }).version, 2);
        const shown = (events as [number, string, string][]).map((e) => e[2]).join("");
        assert.match(shown, /recorded-output\r\nto-stderr\r\n|to-stderr\r\nrecorded-output\r\n/);

        // Root's alone, and readable by sudo's own tools.
        const modes = await device.exec("stat", [
          "-c",
          "%a %U %n",
          "/var/log/support-tunnel",
          `/var/log/support-tunnel/journal/${tunnel.tunnelId}.jsonl`,
          `/var/log/support-tunnel/sessions/${tunnel.tunnelId}`,
        ]);
        assert.deepEqual(
          modes.stdout.split("\n").map((l) => l.split(" ").slice(0, 2).join(" ")),
          ["700 root", "600 root", "700 root"],
        );
        const listedBySudo = await device.exec("sudoreplay", [
          "-d",
          `/var/log/support-tunnel/sessions/${tunnel.tunnelId}`,
          "-l",
        ]);
        assert.equal(listedBySudo.stdout.split("\n").length, 3, listedBySudo.stdout);
      } finally {
        await supportDevice(["stop", tunnel.tunnelId]);
        await removeServerEnd(tunnel.tunnelId);
      }
    });
  });

  describe("the customer's choices", () => {
    let bob: SupportApiClient;

    before(async () => {
      const added = await execa(
        process.execPath,
        [API_BIN, "engineer", "add", "bob", "--role", "operator"],
        { env: { DATABASE_URL: db!.url }, timeout: 60_000 },
      );
      bob = new SupportApiClient({ baseUrl: api!.url, token: added.stdout.trim() });
    });

    /** A compromised api: its database no longer holds what the customer chose. */
    async function forgetChoices(tunnelId: string): Promise<void> {
      await queryDatabase(
        db!.url,
        "UPDATE tunnels SET allowed_engineers = NULL, not_before = NULL WHERE id = $1",
        [tunnelId],
      );
    }

    it("refuses with exit 3 an approval by an engineer the customer did not allow, though a compromised api let it through, and creates nothing", async () => {
      const tunnel = await request(api!.url, ["--engineer", "alice", "--ticket", "ABC-123"]);
      try {
        // The honest api refuses bob outright.
        await assert.rejects(
          approve(tunnel, { client: bob, engineer: "bob" }),
          /allows only alice/,
        );
        await removeServerEnd(tunnel.tunnelId);

        await forgetChoices(tunnel.tunnelId);
        await approve(tunnel, { client: bob, engineer: "bob" });
        assert.equal((await engineer.getTunnel(tunnel.tunnelId)).approvedBy, "bob");

        const result = await supportDevice(["connect", tunnel.tunnelId]);
        assert.equal(result.exitCode, 3, result.stderr);
        assert.match(
          result.stderr,
          /refusing the approval .*: it was approved by bob, and the customer allowed only alice; nothing was set up/,
        );
        assert.deepEqual(await leftovers(tunnel.tunnelId), ["state file"]);
      } finally {
        await supportDevice(["stop", tunnel.tunnelId]);
        await removeServerEnd(tunnel.tunnelId);
      }
    });

    it("refuses with exit 3 an approval for another ticket than the customer's, sealed by an engineer a lying api misled", async () => {
      const proxy = await startRewritingProxy({
        upstream: api!.url,
        host: lab!.rootAddress,
        rewrite: (exchange) =>
          exchange.method === "GET" && /^\/v1\/tunnels\/[^/]+$/.test(pathOf(exchange))
            ? { ...(exchange.body as object), ticket: "XYZ-999" }
            : undefined,
      });
      const tunnel = await request(api!.url, ["--ticket", "ABC-123"]);
      try {
        await approve(tunnel, {
          client: new SupportApiClient({ baseUrl: proxy.url, token: engineerToken }),
        });
        const result = await supportDevice(["connect", tunnel.tunnelId]);
        assert.equal(result.exitCode, 3, result.stderr);
        assert.match(
          result.stderr,
          /it is for ticket XYZ-999, and the customer's is ticket ABC-123; nothing was set up/,
        );
        assert.deepEqual(await leftovers(tunnel.tunnelId), ["state file"]);
      } finally {
        await proxy.close();
        await supportDevice(["stop", tunnel.tunnelId]);
        await removeServerEnd(tunnel.tunnelId);
      }
    });

    it("connects nothing before --start though a compromised api let it be approved early; the agent connects once it has come, naming the engineer and ticket on the account", async function () {
      this.timeout(180_000);
      const tunnel = await request(api!.url, [
        "--start",
        "+30s",
        "--ttl",
        "600",
        "--engineer",
        "alice",
        "--ticket",
        "ABC-123",
      ]);
      const opens = Date.parse(tunnel.notBefore!);
      assert.equal(Date.parse(tunnel.expiresAt), opens + 600_000, "the grant runs from the start");
      let agent: ReturnType<typeof startAgent> | undefined;
      try {
        // The honest api will not take an approval before the start.
        await assert.rejects(approve(tunnel), /allows no approval before/);
        await removeServerEnd(tunnel.tunnelId);

        await forgetChoices(tunnel.tunnelId);
        const { network } = await approve(tunnel);
        const early = await supportDevice(["connect", tunnel.tunnelId]);
        assert.equal(early.exitCode, 4, early.stderr);
        assert.match(
          early.stderr,
          new RegExp(`opens at ${tunnel.notBefore}, as the customer chose`),
        );
        assert.deepEqual(await leftovers(tunnel.tunnelId), ["state file"]);

        agent = startAgent();
        await waitForAgent(
          agent,
          async () => (await engineer.getTunnel(tunnel.tunnelId)).state === TunnelState.Running,
          "the agent to connect once the start has come, and say so",
          120_000,
        );
        assert.match(agent.output(), /opens at .* waiting/);
        // When the device said it was up, by the api's clock (the same machine's).
        const { entries } = await engineer.getAudit(tunnel.tunnelId);
        const connected = entries.find((e) => e.action === "tunnel.connected");
        assert.ok(connected, JSON.stringify(entries));
        assert.ok(
          Date.parse(connected.at) >= opens,
          `connected at ${connected.at}, before the start ${tunnel.notBefore}`,
        );

        const { supportUser } = JSON.parse(
          (await supportDevice(["status", tunnel.tunnelId, "--json"])).stdout,
        ) as { supportUser: string };
        const note = `support-tunnel ${tunnel.tunnelId} for alice (ABC-123)`;
        const passwd = await device.exec("getent", ["passwd", supportUser]);
        assert.equal(passwd.stdout.split(":")[4], note, passwd.stdout);
        const sudoers = await device.readFile(`/etc/sudoers.d/${supportUser}`);
        assert.match(
          sudoers.split("\n")[0]!,
          new RegExp(`^# support-tunnel: .*${note.replace(/[()]/g, "\\$&")}$`),
        );
        const root = await sshAsSupport(supportUser, network, ["sudo", "-n", "id", "-u"]);
        assert.equal(root.stdout.trim(), "0", root.stderr);
      } finally {
        await agent?.kill("SIGTERM");
        await supportDevice(["stop", tunnel.tunnelId]);
        await removeServerEnd(tunnel.tunnelId);
      }
      assert.deepEqual(await leftovers(tunnel.tunnelId), []);
    });
  });
});
