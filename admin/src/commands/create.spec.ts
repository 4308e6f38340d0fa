import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  ApiError,
  ApiUnreachableError,
  generateKeyPair,
  generatePresharedKey,
  openApproval,
  presharedKeyCode,
  SupportApiClient,
  TunnelState,
  type ApproveTunnelRequest,
  type TunnelId,
  type TunnelView,
  Printer,
} from "@support-tunnel/common";
import { CliError, ExitCode } from "../errors";
import type { TunnelServer, TunnelServerProvider } from "../providers/provider";
import type { ServerRecord, ServerRecordStore } from "../server-records";
import type { RemoteShell } from "../ssh/remote-shell";
import type { DeviceHop } from "../ssh/system-ssh";
import { approveWithNewServer, type CreateDeps } from "./create";

const ID = "0b7e3f52-9a61-4c1e-8d2f-3a4b5c6d7e8f" as TunnelId;
const EGRESS =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHdzZWNyZXRzZWNyZXRzZWNyZXRzZWNyZXRzZWNy support-tunnel-egress";
const device = generateKeyPair();
const serverKeys = generateKeyPair();
const psk = generatePresharedKey();

function view(state: TunnelState, extra: Partial<TunnelView> = {}): TunnelView {
  // A running tunnel runs on our server (the api's view of our approval).
  const running = state === TunnelState.Running;
  return {
    tunnelId: ID,
    state,
    network: "10.20.30.0/30",
    hostname: "dev",
    description: null,
    deviceWgPublicKey: device.publicKey,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    expiresAt: "2099-01-01T00:00:00.000Z",
    server: running ? OUR_SERVER : null,
    supportUser: running ? "support1a2b" : null,
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
    ...extra,
  };
}

/** The api's view of our approval: this server, with the key create made for it. */
const OUR_SERVER = {
  instanceId: "lab:ts0b7e3f529a61",
  provider: "netns" as const,
  publicIp: "100.64.0.9",
  wgPort: 51820,
  wgPublicKey: serverKeys.publicKey,
};

const SERVER: TunnelServer = {
  instanceId: "lab:ts0b7e3f529a61",
  provider: "netns",
  publicIp: "100.64.0.9",
  wgPort: 51820,
  interfaceName: "sts0b7e3f529a61",
  ssh: {
    host: "100.64.0.9",
    port: 22,
    username: "root",
    privateKeyPath: "/k",
    hostKey: "ssh-ed25519 AAAA",
  },
};

interface Harness {
  deps: CreateDeps;
  calls: string[];
  approvals: ApproveTunnelRequest[];
  execs: { argv: readonly string[]; stdin?: string }[];
  records: Map<string, ServerRecord>;
  pinnedHops: DeviceHop[];
}

function harness(options: {
  initial?: TunnelView;
  polls?: (TunnelView | Error)[];
  approve?: () => Promise<TunnelView>;
  failOn?: string;
  failPinDevice?: boolean;
  controller?: AbortController;
}): Harness {
  const pinnedHops: DeviceHop[] = [];
  const calls: string[] = [];
  const approvals: ApproveTunnelRequest[] = [];
  const execs: { argv: readonly string[]; stdin?: string }[] = [];
  const records = new Map<string, ServerRecord>();
  const polls = [...(options.polls ?? [view(TunnelState.Running)])];
  // What the api holds now, as a read without waiting answers it.
  let current = options.initial ?? view(TunnelState.Pending);
  let clock = 0;
  const provider: TunnelServerProvider = {
    name: "netns",
    preflight: async () => void calls.push("preflight"),
    obtain: async () => {
      calls.push("obtain");
      return SERVER;
    },
    destroy: async (s) => void calls.push(`destroy ${s.instanceId}`),
    list: async () => [],
  };
  // The setup script as the server would answer it: its probes (an empty
  // server), then, once told `go`, each step's marker, or `@@failed` at failOn.
  const shell: RemoteShell = {
    exec: async () => ({ code: 0, stdout: "", stderr: "" }),
    start: (argv) => {
      const exec: { argv: readonly string[]; stdin?: string } = { argv };
      execs.push(exec);
      const probe = "@@addrs\n[]\n@@routes\n[]\n";
      let stdout = `${probe}@@probed\n`;
      return {
        readUntil: async (marker) => {
          const at = stdout.indexOf(`${marker}\n`);
          if (at < 0) throw new Error(`ended before ${marker}`);
          const before = stdout.slice(0, at);
          stdout = stdout.slice(at + marker.length + 1);
          return before;
        },
        end: (text = "") => {
          exec.stdin = text;
          if (!text.startsWith("go\n")) return;
          stdout += options.failOn
            ? `@@up\n\n@@failed ${options.failOn} up\n`
            : `@@up\n${probe}@@egress\n${EGRESS}\n@@done\n`;
        },
        wait: async () =>
          options.failOn ? { code: 1, stdout, stderr: "boom" } : { code: 0, stdout, stderr: "" },
      };
    },
    dispose: () => void calls.push("dispose"),
  };
  const store: ServerRecordStore = {
    save: async (r) => void records.set(r.tunnelId, r),
    load: async (id) => records.get(id) ?? null,
    remove: async (id) => void records.delete(id),
    all: async () => [...records.values()],
    knownHostsPath: (id) => `/cfg/servers/${id}.known_hosts`,
  };
  const deps: CreateDeps = {
    api: {
      getTunnel: async (_id, opts) => {
        if (!opts?.waitSeconds) return current;
        clock += 30_000;
        if (opts.signal && options.controller) options.controller.abort();
        const next = polls.shift() ?? current;
        if (next instanceof Error) throw next;
        return (current = next);
      },
      approveTunnel: async (_id, body) => {
        calls.push("approve");
        approvals.push(body);
        if (options.approve) return options.approve();
        return (current = view(TunnelState.Started, { server: OUR_SERVER }));
      },
      // Like the api: only while it names this server and the device has not connected.
      withdrawApproval: async (_id, instanceId) => {
        calls.push("withdraw");
        if (current.state === TunnelState.Pending) return current;
        if (current.state !== TunnelState.Started || current.server?.instanceId !== instanceId)
          throw new ApiError(409, `tunnel is ${current.state}`);
        return (current = view(TunnelState.Pending));
      },
      stopTunnel: async () => {
        calls.push("stop");
        return view(TunnelState.Completed);
      },
      whoami: async () => ({ name: "olivia", role: "operator" }),
    },
    provider,
    connectShell: async () => shell,
    records: store,
    pinHostKey: async () => void calls.push("pin"),
    serverPinned: () => void calls.push("server pinned"),
    pinDeviceHostKey: async (_record, hop) => {
      calls.push("pin device");
      pinnedHops.push(hop);
      if (options.failPinDevice) throw new Error("Host key verification failed.");
    },
    readPsk: async () => psk + "\n",
    printer: new Printer({
      stdout: { write: () => true },
      stderr: { write: () => true },
      json: false,
      tty: false,
    }),
    generateKeyPair: () => serverKeys,
    now: () => clock,
    signal: options.controller?.signal,
  };
  return { deps, calls, approvals, execs, records, pinnedHops };
}

describe("create", () => {
  it("approves with an approval the device can open, waits for it, and keeps the server", async () => {
    const h = harness({ polls: [view(TunnelState.Running)] });
    const result = await approveWithNewServer(ID, {}, h.deps);
    assert.equal(result.tunnel.state, TunnelState.Running);
    // The first hop can be opened once the server's key is pinned, while the server is
    // configured and the device comes up.
    assert.deepEqual(h.calls, [
      "preflight",
      "obtain",
      "pin",
      "server pinned",
      "dispose",
      "approve",
      "pin device",
    ]);
    const body = h.approvals[0]!;
    const payload = openApproval({
      sealed: body.approval,
      serverPublicKey: body.wgPublicKey,
      devicePrivateKey: device.privateKey,
      psk,
      tunnelId: ID,
    });
    assert.equal(payload.endpoint, SERVER.publicIp);
    assert.equal(payload.sshPublicKey, EGRESS);
    assert.equal(body.instanceId, SERVER.instanceId);
    assert.ok(h.records.has(ID), "the server record stays for connect and stop");
  });

  it("records where the device is, its support user and the pinned host key", async () => {
    const h = harness({});
    await approveWithNewServer(ID, {}, h.deps);
    assert.deepEqual(h.records.get(ID)?.device, {
      network: "10.20.30.0/30",
      address: "10.20.30.1",
      supportUser: "support1a2b",
      hostKeyAlias: `device.${ID}.support-tunnel`,
    });
    assert.deepEqual(h.pinnedHops, [
      {
        tunnelId: ID,
        interfaceName: SERVER.interfaceName,
        supportUser: "support1a2b",
        network: "10.20.30.0/30",
        deviceAddress: "10.20.30.1",
        hostKeyAlias: `device.${ID}.support-tunnel`,
      },
    ]);
  });

  it("ends the tunnel and destroys the server when the device's host key cannot be pinned", async () => {
    const h = harness({ failPinDevice: true });
    await assert.rejects(approveWithNewServer(ID, {}, h.deps), /Host key verification failed/);
    assert.deepEqual(h.calls.slice(-2), ["stop", `destroy ${SERVER.instanceId}`]);
    assert.equal(h.records.size, 0);
  });

  it("refuses, ends the tunnel and destroys the server when the api's running view names another network", async () => {
    const h = harness({ polls: [view(TunnelState.Running, { network: "10.99.0.0/30" })] });
    await assert.rejects(approveWithNewServer(ID, {}, h.deps), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.equal(err.exitCode, ExitCode.Refused);
      assert.match(
        err.message,
        /the network is "10\.99\.0\.0\/30", create recorded "10\.20\.30\.0\/30"/,
      );
      return true;
    });
    assert.ok(!h.calls.includes("pin device"), "nothing is run on the device");
    assert.deepEqual(h.calls.slice(-2), ["stop", `destroy ${SERVER.instanceId}`]);
  });

  describe("the customer's choices", () => {
    function opened(h: Harness) {
      const body = h.approvals[0]!;
      return openApproval({
        sealed: body.approval,
        serverPublicKey: body.wgPublicKey,
        devicePrivateKey: device.privateKey,
        psk,
        tunnelId: ID,
      });
    }

    it("seals its own name, as the api knows it, and the ticket the tunnel is for", async () => {
      const h = harness({
        initial: view(TunnelState.Pending, {
          ticket: "ABC-123",
          allowedEngineers: ["carol", "olivia"],
        }),
      });
      await approveWithNewServer(ID, {}, h.deps);
      const payload = opened(h);
      assert.equal(payload.engineer, "olivia");
      assert.equal(payload.ticket, "ABC-123");
    });

    it("seals no ticket when the customer gave none", async () => {
      const h = harness({});
      await approveWithNewServer(ID, {}, h.deps);
      assert.equal(opened(h).ticket, undefined);
      assert.equal(opened(h).engineer, "olivia");
    });

    it("refuses with exit 3 a tunnel the customer allowed only others to take, and makes no server", async () => {
      const h = harness({
        initial: view(TunnelState.Pending, { allowedEngineers: ["alice", "carol"] }),
      });
      await assert.rejects(approveWithNewServer(ID, {}, h.deps), (err: unknown) => {
        assert.ok(err instanceof CliError);
        assert.equal(err.exitCode, ExitCode.Refused);
        assert.equal(
          err.message,
          `the customer allows only alice, carol to take tunnel ${ID}, not olivia; nothing was made`,
        );
        return true;
      });
      assert.deepEqual(h.calls, []);
    });

    it("refuses with exit 4 a tunnel whose start has not come, saying when, and makes no server", async () => {
      const start = new Date(60_000).toISOString();
      const h = harness({ initial: view(TunnelState.Pending, { notBefore: start }) });
      await assert.rejects(approveWithNewServer(ID, {}, h.deps), (err: unknown) => {
        assert.ok(err instanceof CliError);
        assert.equal(err.exitCode, ExitCode.Conflict);
        assert.match(err.message, new RegExp(`opens at ${start}, as the customer chose`));
        return true;
      });
      assert.deepEqual(h.calls, []);
    });

    it("approves a tunnel whose start has come", async () => {
      const h = harness({
        initial: view(TunnelState.Pending, { notBefore: new Date(0).toISOString() }),
      });
      await approveWithNewServer(ID, {}, h.deps);
      assert.ok(h.calls.includes("approve"));
    });

    it("destroys its server when the api refuses the approval for the customer's choices", async () => {
      // The view said nothing (an older or lying api) but the api's own check refuses.
      const h = harness({
        approve: async () => {
          throw new ApiError(
            403,
            "the customer allows only alice to approve this tunnel, not olivia",
          );
        },
      });
      await assert.rejects(approveWithNewServer(ID, {}, h.deps), /allows only alice/);
      assert.ok(h.calls.includes(`destroy ${SERVER.instanceId}`));
      assert.ok(!h.calls.includes("stop"), "a refused approval changed nothing to stop");
    });
  });

  it("never puts the WireGuard private key or the PSK on a command line", async () => {
    const h = harness({});
    await approveWithNewServer(ID, {}, h.deps);
    const argvText = h.execs.map((e) => e.argv.join(" ")).join("\n");
    assert.doesNotMatch(argvText, new RegExp(psk.replace(/[+/=]/g, ".")));
    assert.ok(
      h.execs.some((e) => e.stdin?.includes(`PresharedKey = ${psk}`)),
      "the config goes on stdin",
    );
    assert.doesNotMatch(argvText, /PrivateKey/);
  });

  it("destroys the server when configuring it fails", async () => {
    const h = harness({ failOn: "wg-quick" });
    await assert.rejects(
      approveWithNewServer(ID, {}, h.deps),
      /wg-quick up failed on the tunnel server \(exit 1\): boom/,
    );
    assert.ok(h.calls.includes(`destroy ${SERVER.instanceId}`));
    assert.ok(!h.calls.includes("approve"));
    assert.equal(h.records.size, 0);
  });

  it("destroys its server and names the winner when another engineer approved first", async () => {
    const h = harness({
      approve: async () => {
        throw new ApiError(409, "tunnel is not pending");
      },
    });
    let second = false;
    const getTunnel = h.deps.api.getTunnel;
    h.deps.api.getTunnel = async (id, opts) => {
      if (h.calls.includes("approve")) {
        second = true;
        return view(TunnelState.Started, { approvedBy: "alice" });
      }
      return getTunnel(id, opts);
    };
    await assert.rejects(approveWithNewServer(ID, {}, h.deps), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.equal(err.exitCode, ExitCode.Conflict);
      assert.match(err.message, /approved by alice first/);
      return true;
    });
    assert.ok(second);
    assert.ok(h.calls.includes(`destroy ${SERVER.instanceId}`));
    assert.ok(!h.calls.includes("stop"), "the winner's tunnel is left alone");
  });

  it("carries on when its approval landed but the answer was lost", async () => {
    const h = harness({
      approve: async () => {
        throw new ApiUnreachableError("api unreachable: ECONNRESET; POST may have reached it");
      },
      polls: [view(TunnelState.Running, { server: OUR_SERVER })],
    });
    const getTunnel = h.deps.api.getTunnel;
    h.deps.api.getTunnel = async (id, opts) =>
      h.calls.includes("approve") && !opts?.waitSeconds
        ? view(TunnelState.Started, { server: OUR_SERVER, approvedBy: "me" })
        : getTunnel(id, opts);
    const result = await approveWithNewServer(ID, {}, h.deps);
    assert.equal(result.tunnel.state, TunnelState.Running);
    assert.deepEqual(
      h.calls.slice(-2),
      ["approve", "pin device"],
      "nothing stopped, nothing destroyed",
    );
    assert.equal(h.approvals.length, 1, "the approval is not sent twice");
    assert.ok(h.records.has(ID));
  });

  it("takes a 409 for its own approval (the api holds this server's key) as success", async () => {
    const h = harness({
      approve: async () => {
        throw new ApiError(409, "tunnel is not pending (state: started)");
      },
      polls: [view(TunnelState.Running, { server: OUR_SERVER })],
    });
    const getTunnel = h.deps.api.getTunnel;
    h.deps.api.getTunnel = async (id, opts) =>
      h.calls.includes("approve") && !opts?.waitSeconds
        ? view(TunnelState.Started, { server: OUR_SERVER, approvedBy: "me" })
        : getTunnel(id, opts);
    const result = await approveWithNewServer(ID, {}, h.deps);
    assert.equal(result.tunnel.state, TunnelState.Running);
    assert.ok(!h.calls.some((c) => c === "stop" || c.startsWith("destroy")));
  });

  it("destroys its server when the approval's answer was lost and the api cannot tell whose it is", async () => {
    const h = harness({
      approve: async () => {
        throw new ApiUnreachableError("api unreachable: ECONNRESET");
      },
    });
    const getTunnel = h.deps.api.getTunnel;
    h.deps.api.getTunnel = async (id, opts) => {
      if (h.calls.includes("approve"))
        throw new ApiUnreachableError("api unreachable: ECONNREFUSED");
      return getTunnel(id, opts);
    };
    await assert.rejects(approveWithNewServer(ID, {}, h.deps), /ECONNRESET/);
    assert.deepEqual(h.calls.slice(-1), [`destroy ${SERVER.instanceId}`]);
    assert.equal(h.records.size, 0);
  });

  it("takes the approval back when the api points at this server but not with its key", async () => {
    const h = harness({
      approve: async () => {
        throw new ApiUnreachableError("api unreachable: timed out");
      },
    });
    const getTunnel = h.deps.api.getTunnel;
    h.deps.api.getTunnel = async (id, opts) =>
      h.calls.includes("approve")
        ? view(TunnelState.Started, {
            server: { ...SERVER, wgPublicKey: device.publicKey },
          })
        : getTunnel(id, opts);
    await assert.rejects(approveWithNewServer(ID, {}, h.deps), /unreachable/);
    assert.deepEqual(h.calls.slice(-2), ["withdraw", `destroy ${SERVER.instanceId}`]);
  });

  it("destroys the server and leaves the tunnel approvable, not ended, when the device does not connect in time", async () => {
    const started = view(TunnelState.Started, { server: OUR_SERVER });
    const h = harness({ polls: [started, started] });
    await assert.rejects(
      approveWithNewServer(ID, { timeoutSeconds: 45 }, h.deps),
      /did not connect within 45 s/,
    );
    assert.deepEqual(h.calls.slice(-2), ["withdraw", `destroy ${SERVER.instanceId}`]);
    assert.ok(!h.calls.includes("stop"), "the customer's request is not ended");
    assert.equal((await h.deps.api.getTunnel(ID)).state, TunnelState.Pending);
    assert.equal(h.records.size, 0);
  });

  for (const [kind, says] of [
    ["psk", "the preshared key does not match; ask the customer to read it again"],
    ["engineer", "the customer allowed other engineers to take this tunnel, not you"],
  ] as const) {
    it(`stops waiting the moment the device refuses the approval (${kind}), destroys the server and exits 3 saying why`, async () => {
      const refused = view(TunnelState.Pending, {
        refusal: { kind, at: "2026-01-01T00:00:01.000Z" },
      });
      const h = harness({ polls: [refused] });
      await assert.rejects(approveWithNewServer(ID, {}, h.deps), (err: unknown) => {
        assert.ok(err instanceof CliError);
        assert.equal(err.exitCode, ExitCode.Refused);
        assert.equal(err.message, `the device refused the approval: ${says}`);
        return true;
      });
      assert.equal(h.calls.at(-1), `destroy ${SERVER.instanceId}`);
      assert.ok(!h.calls.includes("stop"), "the tunnel stays approvable");
      assert.ok(!h.calls.includes("pin device"));
      assert.equal(h.records.size, 0);
    });
  }

  it("refuses a viewer with exit 3 before asking for the PSK or touching the provider", async () => {
    const h = harness({});
    h.deps.api.whoami = async () => ({ name: "victor", role: "viewer" });
    let askedForPsk = false;
    h.deps.readPsk = async () => {
      askedForPsk = true;
      return psk;
    };
    await assert.rejects(approveWithNewServer(ID, {}, h.deps), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.equal(err.exitCode, ExitCode.Refused);
      assert.equal(
        err.message,
        "support create needs the operator role, and victor is a viewer: ask an admin for it; nothing was made",
      );
      return true;
    });
    assert.deepEqual(h.calls, [], "no preflight, no server, no approval");
    assert.equal(askedForPsk, false);
    assert.equal(h.records.size, 0);
  });

  it("destroys the server when the engineer presses Ctrl-C while waiting", async () => {
    const controller = new AbortController();
    const h = harness({ polls: [view(TunnelState.Started)], controller });
    await assert.rejects(approveWithNewServer(ID, {}, h.deps), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.equal(err.exitCode, ExitCode.Interrupted);
      return true;
    });
    assert.deepEqual(h.calls.slice(-2), ["withdraw", `destroy ${SERVER.instanceId}`]);
  });

  it("says so when the customer stops the tunnel before the device connects", async () => {
    const h = harness({
      polls: [
        view(TunnelState.Completed, {
          stoppedBy: "device" as never,
          stopReason: "changed my mind",
        }),
      ],
    });
    await assert.rejects(
      approveWithNewServer(ID, {}, h.deps),
      /ended before the device connected \(device: changed my mind\)/,
    );
    assert.ok(h.calls.includes(`destroy ${SERVER.instanceId}`));
  });

  it("refuses a tunnel that is not pending without making a server", async () => {
    const h = harness({ initial: view(TunnelState.Running, { approvedBy: "bob" }) });
    await assert.rejects(
      approveWithNewServer(ID, {}, h.deps),
      /is running, not pending \(approved by bob\)/,
    );
    assert.deepEqual(h.calls, []);
  });

  it("refuses to make a second server for a tunnel already recorded on this machine", async () => {
    const h = harness({});
    h.records.set(ID, { tunnelId: ID, createdAt: "", knownHostsPath: "", server: SERVER });
    await assert.rejects(
      approveWithNewServer(ID, {}, h.deps),
      /already recorded on this machine \(lab:ts0b7e3f529a61\)/,
    );
    assert.deepEqual(h.calls, []);
  });

  it("refuses a malformed PSK without making a server", async () => {
    const h = harness({});
    h.deps.readPsk = async () => "not-a-psk";
    await assert.rejects(
      approveWithNewServer(ID, {}, h.deps),
      (err: CliError) => /a preshared key is 53 symbols/.test(err.message) && err.exitCode === 2,
    );
    assert.deepEqual(h.calls, []);
  });

  it("approves with the PSK read as its phone code, in lower case and spaced as heard", async () => {
    const h = harness({ polls: [view(TunnelState.Running)] });
    h.deps.readPsk = async () => presharedKeyCode(psk).toLowerCase().replace(/-/g, " ") + "\n";
    await approveWithNewServer(ID, {}, h.deps);
    const body = h.approvals[0]!;
    const payload = openApproval({
      sealed: body.approval,
      serverPublicKey: body.wgPublicKey,
      devicePrivateKey: device.privateKey,
      psk,
      tunnelId: ID,
    });
    assert.equal(payload.tunnelId, ID);
  });

  it("refuses a PSK code with one misheard symbol before any server is made", async () => {
    const h = harness({});
    const code = presharedKeyCode(psk);
    const misheard = code.slice(0, 5) + (code[5] === "7" ? "8" : "7") + code.slice(6);
    h.deps.readPsk = async () => misheard;
    await assert.rejects(
      approveWithNewServer(ID, {}, h.deps),
      (err: CliError) =>
        /check symbol does not match.*read it again; nothing was made/.test(err.message) &&
        err.exitCode === 2 &&
        !err.message.includes(misheard),
    );
    assert.deepEqual(h.calls, []);
  });

  it("ends in success through the real api client when the approval's answer is lost", async () => {
    // A stand-in api that does the approval, then drops the connection instead of answering.
    let tunnel = view(TunnelState.Pending);
    const seen: string[] = [];
    const api = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        seen.push(`${req.method} ${req.url?.split("?")[0]}`);
        if (req.url === "/v1/whoami") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ name: "olivia", role: "operator" }));
          return;
        }
        if (req.method === "POST") {
          const approval = JSON.parse(body) as ApproveTunnelRequest;
          const { approval: _sealed, ...server } = approval;
          tunnel = view(TunnelState.Started, { server, approvedBy: "me" });
          req.socket.destroy();
          return;
        }
        if (req.url?.includes("wait="))
          tunnel = { ...tunnel, state: TunnelState.Running, supportUser: "support1a2b" };
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(tunnel));
      });
    });
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    try {
      const h = harness({});
      h.deps.api = new SupportApiClient({
        baseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
        token: "ste_test",
        sleep: async () => undefined,
      });
      const result = await approveWithNewServer(ID, {}, h.deps);
      assert.equal(result.tunnel.state, TunnelState.Running);
      assert.equal(seen.filter((r) => r.startsWith("POST")).length, 1, "one approval sent");
      assert.ok(!seen.some((r) => r.startsWith("DELETE")), "the tunnel it won is not stopped");
      assert.ok(!h.calls.some((c) => c.startsWith("destroy")), "nor its server destroyed");
    } finally {
      api.closeAllConnections();
      await new Promise<void>((resolve) => api.close(() => resolve()));
    }
  });
});
