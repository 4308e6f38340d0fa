// `support create <id>`: approve a pending tunnel. Obtains a server, configures
// WireGuard and the egress key on it, seals the approval with the PSK, posts it,
// then waits for the device to connect. Once a server exists, every failure path
// (including Ctrl-C and losing the race to another engineer) destroys it.
// `create` wires the real adapters (provider, PSK, Ctrl-C); `approveWithNewServer`
// is the flow itself, with its side effects passed in.
import {
  ApiError,
  ApiUnreachableError,
  describeRefusal,
  generateKeyPair,
  CodeError,
  isTerminal,
  parsePresharedKey,
  sealApproval,
  tunnelAddresses,
  TunnelState,
  type PresharedKey,
  type SupportApiClient,
  type TunnelId,
  type TunnelView,
  type WgKeyPair,
  type Printer,
  type Whoami,
} from "@support-tunnel/common";
import { pinDeviceHostKey, pinHostKey, promptHidden, readAllStdin } from "../adapters";
import { checkProviderFlags, chooseProvider } from "../config";
import type { Context } from "../context";
import { recordDisagreements } from "../device-access";
import { CliError, ExitCode } from "../errors";
import { resolveIdentityAhead } from "../identity";
import { closeFirstHop, controlSocketPath, openFirstHop, prepareControlDir } from "../first-hop";
import type { TunnelServer, TunnelServerProvider } from "../providers/provider";
import { providersFor, type ProviderFlags } from "../providers/registry";
import { configureServer } from "../server-setup";
import type { ServerRecord, ServerRecordStore } from "../server-records";
import { connectNodeSsh, loadNodeSsh, type ConnectRemoteShell } from "../ssh/remote-shell";
import { deviceHostKeyAlias, type DeviceHop } from "../ssh/system-ssh";
import { parseTunnelId, resolveTunnelId } from "../tunnel-id";
import { requireRole } from "./roles";

export interface CreateOptions extends ProviderFlags {
  id: string;
  /** Where the tunnel server comes from: netns, ssh or gcp; absent, SUPPORT_PROVIDER or the config's. */
  provider?: string;
  /** `-` reads the PSK from stdin; absent, a hidden prompt asks; any other value is refused. */
  psk?: string;
  /** Seconds to wait for the device to connect, as typed. */
  timeout: string;
  ctx: Context;
}

export const PSK_IN_ARGV =
  "--psk VALUE puts the PSK where `ps` and shell history see it: pipe it in with --psk - (e.g. `support create ID --psk - < psk-file`), or leave --psk out to be asked for it without echo";

export async function create(options: CreateOptions): Promise<CreateResult> {
  const { ctx } = options;
  if (options.psk !== undefined && options.psk !== "-")
    throw new CliError(PSK_IN_ARGV, ExitCode.Usage);
  const timeoutSeconds = Number(options.timeout);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new CliError("--timeout must be a whole number of seconds", ExitCode.Usage);
  }
  checkProviderFlags(options);
  const tunnelId = await resolveTunnelId(options.id, () => ctx.api());
  // Before the api is asked anything more: a missing provider is a usage error.
  const providerName = chooseProvider(options.provider, ctx.env, ctx.config.file);
  const api = ctx.api();
  // Who we are and the tunnel are asked at once; meanwhile an existing identity's
  // public half is derived: it touches no provider, and a missing identity is
  // generated only after the check.
  const whoami = settled(api.whoami());
  const tunnel = settled(api.getTunnel(tunnelId));
  const identity = resolveIdentityAhead(ctx.config, options.identity);
  // Before any provider is touched (resolving the identity may even make a key).
  const me = requireRole(await unsettle(whoami), "operator", "support create");
  const provider = (await providersFor(ctx.config, ctx.env.raw, options, identity))(providerName);
  // Ctrl-C during create aborts it (the prompt too), and the failure path destroys the server.
  const controller = new AbortController();
  const onSigint = () => {
    ctx.printer.info("interrupted: cleaning up");
    controller.abort(new CliError("interrupted", ExitCode.Interrupted));
  };
  process.on("SIGINT", onSigint);
  // The first hop to the server (first-hop.ts) is opened as soon as the server's
  // host key is pinned, while the server is configured and the device brings the
  // tunnel up (a connection takes ~0.3 s: opened after the setup, it was what
  // first contact waited for), so first contact pays only the hop to the device.
  // It stays open for the commands that follow, and is closed if create fails.
  let firstHop: { record: ServerRecord; opened: Promise<void> } | null = null;
  const controlPath = controlSocketPath(ctx.config.dir, tunnelId);
  try {
    return await approveWithNewServer(
      tunnelId,
      { timeoutSeconds },
      {
        api,
        me,
        tunnel: unsettle(tunnel),
        provider,
        connectShell: connectNodeSsh,
        prepareShell: loadNodeSsh,
        records: ctx.records(),
        pinHostKey,
        serverPinned: (record) => {
          if (!controlPath) return;
          const opened = prepareControlDir(ctx.config.dir)
            .then(() => openFirstHop(record, controlPath))
            .catch(() => undefined); // best effort: the pin below then makes the first hop itself
          firstHop = { record, opened };
        },
        pinDeviceHostKey: async (record, hop) => {
          await firstHop?.opened;
          await pinDeviceHostKey(record, hop, controlPath ?? undefined);
        },
        readPsk: () => readPsk(options.psk, ctx, controller.signal),
        printer: ctx.printer,
        signal: controller.signal,
      },
    );
  } catch (err) {
    const opened = firstHop as { record: ServerRecord; opened: Promise<void> } | null;
    if (opened) {
      await opened.opened;
      await closeFirstHop(ctx.config.dir, opened.record).catch(() => undefined);
    }
    throw err;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/** The PSK from stdin (`--psk -`) or a hidden prompt that insists on a valid one. */
async function readPsk(
  flag: string | undefined,
  ctx: Context,
  signal: AbortSignal,
): Promise<string> {
  if (flag === "-") return readAllStdin();
  if (!ctx.env.stdinIsTty) {
    throw new CliError(
      "no PSK: pipe it in with --psk -, or run on a terminal to be asked for it",
      ExitCode.Usage,
    );
  }
  return promptHidden("PSK from the customer", {
    signal,
    validate: (value) => {
      try {
        parsePresharedKey(value);
        return true;
      } catch (err) {
        return err instanceof CodeError ? err.message : String(err);
      }
    },
  });
}

/**
 * The PSK as the customer read it out (the code, any case or spacing, or base64):
 * a wrong check symbol or length is refused here, before any server is made.
 */
function readPresharedKey(typed: string): PresharedKey {
  try {
    return parsePresharedKey(typed);
  } catch (err) {
    if (err instanceof CodeError)
      throw new CliError(`${err.message}; nothing was made`, ExitCode.Usage);
    throw err;
  }
}

export interface CreateDeps {
  api: Pick<
    SupportApiClient,
    "getTunnel" | "approveTunnel" | "withdrawApproval" | "stopTunnel" | "whoami"
  >;
  /** Who we are, when already asked; otherwise the api is asked first thing. */
  me?: Whoami;
  /** The tunnel, when already asked (alongside whoami); otherwise asked after whoami. */
  tunnel?: Promise<TunnelView>;
  provider: TunnelServerProvider;
  connectShell: ConnectRemoteShell;
  /** Readies connectShell (loads its SSH client) while the server is obtained. */
  prepareShell?: () => void;
  records: ServerRecordStore;
  /** Writes the per-tunnel known_hosts that pins the server's host key. */
  pinHostKey: (path: string, server: TunnelServer) => Promise<void>;
  /** Told once the server's host key is pinned, to start what can start early (the first hop). */
  serverPinned?: (record: ServerRecord) => void;
  /** First contact with the device over the tunnel: pins its SSH host key on the server. */
  pinDeviceHostKey: (record: ServerRecord, hop: DeviceHop) => Promise<void>;
  readPsk: () => Promise<string>;
  printer: Printer;
  generateKeyPair?: () => WgKeyPair;
  now?: () => number;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
}

export interface ApproveOptions {
  /** Seconds to wait for the device to connect after approving. Default 120. */
  timeoutSeconds?: number;
}

export interface CreateResult {
  tunnel: TunnelView;
  server: TunnelServer;
}

/**
 * A promise started ahead of where its answer is taken, held so that its
 * failure is not unhandled meanwhile (a check before it may fail first).
 */
type Settled<T> = Promise<{ value: T } | { error: unknown }>;

function settled<T>(promise: Promise<T>): Settled<T> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/** The answer of a settled promise where it is taken: its value, or its failure thrown. */
async function unsettle<T>(held: Settled<T>): Promise<T> {
  const outcome = await held;
  if ("error" in outcome) throw outcome.error;
  return outcome.value;
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CliError("interrupted", ExitCode.Interrupted);
}

/** Checks the tunnel, makes and configures a server, approves, and waits for the device. */
export async function approveWithNewServer(
  id: string,
  options: ApproveOptions,
  deps: CreateDeps,
): Promise<CreateResult> {
  const tunnelId = parseTunnelId(id);
  const { api, provider, printer, signal } = deps;
  const now = deps.now ?? Date.now;
  const timeoutMs = (options.timeoutSeconds ?? 120) * 1000;

  // A viewer is refused before anything is read, asked for or made.
  const me = requireRole(deps.me ?? (await api.whoami()), "operator", "support create");
  const tunnel = await (deps.tunnel ?? api.getTunnel(tunnelId));
  if (tunnel.state !== TunnelState.Pending) {
    throw new CliError(
      `tunnel ${tunnelId} is ${tunnel.state}, not pending${tunnel.approvedBy ? ` (approved by ${tunnel.approvedBy})` : ""}`,
      ExitCode.Conflict,
    );
  }
  // The approval names who approves, as the api knows us; the device checks it
  // against the customer's choice. Checked here too, before any server is made.
  if (tunnel.allowedEngineers && !tunnel.allowedEngineers.includes(me.name)) {
    throw new CliError(
      `the customer allows only ${tunnel.allowedEngineers.join(", ")} to take tunnel ${tunnelId}, not ${me.name}; nothing was made`,
      ExitCode.Refused,
    );
  }
  if (tunnel.notBefore && Date.parse(tunnel.notBefore) > now()) {
    throw new CliError(
      `tunnel ${tunnelId} opens at ${tunnel.notBefore}, as the customer chose: approve it from then on; nothing was made`,
      ExitCode.Conflict,
    );
  }
  // The record is read while the PSK is, its answer taken after: a bad PSK is
  // still what is said first. The provider is not touched before the PSK is good.
  const recorded = settled(deps.records.load(tunnelId));
  const psk = readPresharedKey(await deps.readPsk());

  const existing = await unsettle(recorded);
  if (existing) {
    throw new CliError(
      `a server for tunnel ${tunnelId} is already recorded on this machine (${existing.server.instanceId}): run \`support stop ${tunnelId}\` or \`support gc\` first`,
      ExitCode.Conflict,
    );
  }

  await provider.preflight();
  checkAborted(signal);

  const obtainStep = printer.step(`obtaining a tunnel server (${provider.name})`);
  let server: TunnelServer;
  try {
    const obtaining = provider.obtain({
      tunnelId,
      expiresAt: new Date(tunnel.expiresAt),
      onProgress: (m) => obtainStep.update(m),
      signal,
    });
    // Once the provider is under way: its programs run while the SSH client loads.
    if (deps.prepareShell) setImmediate(deps.prepareShell);
    server = await obtaining;
  } catch (err) {
    obtainStep.fail();
    throw err;
  }
  obtainStep.done(`tunnel server ${server.instanceId} at ${server.publicIp}:${server.wgPort}`);

  let approved = false;
  try {
    const knownHostsPath = deps.records.knownHostsPath(tunnelId);
    // The network is recorded now: it is what WireGuard on the server is configured with.
    const record: ServerRecord = {
      tunnelId,
      createdAt: new Date(now()).toISOString(),
      knownHostsPath,
      server,
      device: { network: tunnel.network, address: tunnelAddresses(tunnel.network).device },
    };
    await deps.records.save(record);
    await deps.pinHostKey(knownHostsPath, server);
    checkAborted(signal);
    deps.serverPinned?.(record);

    const setupStep = printer.step("configuring WireGuard and the egress key on the server");
    const serverKeys = (deps.generateKeyPair ?? generateKeyPair)();
    let egressPublicKey: string;
    try {
      const shell = await deps.connectShell(server.ssh, signal);
      try {
        ({ egressPublicKey } = await configureServer(shell, {
          tunnelId,
          interfaceName: server.interfaceName,
          wgPort: server.wgPort,
          network: tunnel.network,
          devicePublicKey: tunnel.deviceWgPublicKey,
          psk,
          serverPrivateKey: serverKeys.privateKey,
          onProgress: (m) => setupStep.update(m),
        }));
      } finally {
        shell.dispose();
      }
    } catch (err) {
      setupStep.fail();
      throw err;
    }
    setupStep.done("server configured");
    checkAborted(signal);

    const approval = sealApproval({
      payload: {
        tunnelId,
        serverWgPublicKey: serverKeys.publicKey,
        endpoint: server.publicIp,
        wgPort: server.wgPort,
        sshPublicKey: egressPublicKey,
        expiresAt: tunnel.expiresAt,
        engineer: me.name,
        // As the api shows it: if it lies, the device, which knows its own, refuses.
        ...(tunnel.ticket ? { ticket: tunnel.ticket } : {}),
      },
      serverPrivateKey: serverKeys.privateKey,
      devicePublicKey: tunnel.deviceWgPublicKey,
      psk,
    });
    const approvalBody = {
      instanceId: server.instanceId,
      provider: server.provider,
      publicIp: server.publicIp,
      wgPort: server.wgPort,
      wgPublicKey: serverKeys.publicKey,
      approval,
    };
    let view: TunnelView;
    try {
      view = await api.approveTunnel(tunnelId, approvalBody);
    } catch (err) {
      // The answer can be lost (or a repeat refused) after the approval landed.
      // Only the api's view says whose it is: ours carries this server's fresh key.
      const unknownOutcome =
        err instanceof ApiUnreachableError ||
        (err instanceof ApiError && (err.status === 409 || err.status >= 500));
      if (!unknownOutcome) throw err;
      const current = await api.getTunnel(tunnelId).catch(() => null);
      const ours =
        current?.server?.wgPublicKey === serverKeys.publicKey &&
        current.server.instanceId === server.instanceId;
      if (current && ours) {
        printer.info("the approval's answer was lost, but the api holds our approval");
        view = current;
      } else if (err instanceof ApiError && err.status === 409) {
        throw new CliError(
          `tunnel ${tunnelId} was approved by ${current?.approvedBy ?? "someone else"} first; this server is destroyed`,
          ExitCode.Conflict,
        );
      } else {
        throw err;
      }
    }
    approved = true;
    printer.info(`approval posted; waiting for the device to connect`);

    const waitStep = printer.step("waiting for the device to bring the tunnel up");
    const deadline = now() + timeoutMs;
    while (view.state === TunnelState.Started) {
      checkAborted(signal);
      const remaining = Math.ceil((deadline - now()) / 1000);
      if (remaining <= 0) {
        waitStep.fail();
        throw new CliError(
          `the device did not connect within ${options.timeoutSeconds ?? 120} s`,
          ExitCode.Failure,
        );
      }
      try {
        view = await api.getTunnel(tunnelId, {
          waitSeconds: Math.min(30, remaining),
          since: view.state,
          signal,
        });
      } catch (err) {
        checkAborted(signal);
        throw err;
      }
    }
    if (view.state === TunnelState.Pending) {
      // The device refused it (and said why), or someone took it back: either
      // way nothing points at this server any more, and it is destroyed below.
      waitStep.fail();
      if (view.refusal) throw new CliError(describeRefusal(view.refusal.kind), ExitCode.Refused);
      throw new CliError(
        "the approval was withdrawn before the device connected",
        ExitCode.Conflict,
      );
    }
    if (isTerminal(view.state)) {
      waitStep.fail();
      throw new CliError(
        `tunnel ended before the device connected (${view.stoppedBy ?? "unknown"}${view.stopReason ? `: ${view.stopReason}` : ""})`,
      );
    }
    const disagreements = recordDisagreements(record, view);
    if (disagreements.length > 0) {
      waitStep.fail();
      throw new CliError(
        `refusing the api's answer: ${disagreements.join("; ")}`,
        ExitCode.Refused,
      );
    }
    if (!view.supportUser) {
      waitStep.fail();
      throw new CliError(`the api says the device connected but names no support user`);
    }
    waitStep.done(`device connected as ${view.supportUser}`);

    // First contact through the WireGuard link the PSK authenticates: the device's
    // host key is pinned now, and every later hop refuses any other key.
    const pinStep = printer.step("pinning the device's SSH host key over the tunnel");
    const device = {
      ...record.device!,
      supportUser: view.supportUser,
      hostKeyAlias: deviceHostKeyAlias(tunnelId),
    };
    try {
      await deps.pinDeviceHostKey(record, {
        tunnelId,
        interfaceName: server.interfaceName,
        supportUser: device.supportUser,
        network: device.network,
        deviceAddress: device.address,
        hostKeyAlias: device.hostKeyAlias,
      });
    } catch (err) {
      pinStep.fail();
      throw err;
    }
    await deps.records.save({ ...record, device });
    pinStep.done("device's SSH host key pinned");
    printer.data(
      { tunnel: view, server: { instanceId: server.instanceId, provider: server.provider } },
      () =>
        `tunnel ${tunnelId} is ${view.state}: run \`support connect ${tunnelId}\` or \`support command ${tunnelId} -- CMD\``,
    );
    return { tunnel: view, server };
  } catch (err) {
    // If the api points at the server about to vanish (our approval landed, even
    // when its answer was lost), take the approval back; never touch another engineer's.
    const pointsAtOurs =
      approved ||
      (await api
        .getTunnel(tunnelId)
        .then((t) => t.server?.instanceId === server.instanceId && !isTerminal(t.state))
        .catch(() => false));
    if (pointsAtOurs) await takeBackApproval(api, tunnelId, server.instanceId, printer);
    const cleanup = printer.step(`destroying tunnel server ${server.instanceId}`);
    try {
      await provider.destroy({ instanceId: server.instanceId, tunnelId });
      // Only our own record: a create racing on this machine may have written its own.
      const record = await deps.records.load(tunnelId).catch(() => null);
      if (record?.server.instanceId === server.instanceId) await deps.records.remove(tunnelId);
      cleanup.done(`tunnel server ${server.instanceId} destroyed`);
    } catch (destroyErr) {
      cleanup.fail();
      printer.warn(
        `could not destroy ${server.instanceId}: ${(destroyErr as Error).message}; run \`support gc\``,
      );
    }
    throw err;
  }
}

/**
 * Our server is going: the customer's request must not go with it. An approval
 * the device has not acted on is withdrawn (the tunnel is pending again, for
 * another `create`); one it has connected to (running) cannot be, and the tunnel
 * is ended rather than left pointing at a server that no longer exists.
 */
async function takeBackApproval(
  api: CreateDeps["api"],
  tunnelId: TunnelId,
  instanceId: string,
  printer: Printer,
): Promise<void> {
  try {
    await api.withdrawApproval(tunnelId, instanceId);
    printer.info(
      `tunnel ${tunnelId} is pending again: \`support create ${tunnelId}\` can approve it anew`,
    );
    return;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) {
      printer.warn(
        `could not withdraw the approval of tunnel ${tunnelId}: ${(err as Error).message}`,
      );
      return;
    }
  }
  const current = await api.getTunnel(tunnelId).catch(() => null);
  if (current?.server?.instanceId === instanceId && !isTerminal(current.state)) {
    await api.stopTunnel(tunnelId, "create failed").catch(() => undefined);
  }
}
