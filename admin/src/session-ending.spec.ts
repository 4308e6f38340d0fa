import assert from "node:assert/strict";
import {
  StoppedBy,
  TunnelState,
  type AuditEntry,
  type TunnelId,
  type TunnelView,
} from "@support-tunnel/common";
import { eventually } from "@support-tunnel/testkit";
import { endingReason, sessionBanner, warnBeforeExpiry, whyTunnelEnded } from "./session-ending";

const ID = "0b7e3f52-9a61-4c1e-8d2f-3a4b5c6d7e8f" as TunnelId;
const NOW = Date.parse("2030-01-01T12:00:00.000Z");

function view(extra: Partial<TunnelView>): TunnelView {
  return {
    tunnelId: ID,
    state: TunnelState.Running,
    hostname: "kiosk-7",
    supportUser: "support1a2b3c4d",
    expiresAt: "2030-01-01T12:29:00.000Z",
    stoppedBy: null,
    stopReason: null,
    ...extra,
  } as TunnelView;
}

const stopByBob: AuditEntry = {
  at: "2030-01-01T12:10:00.000Z",
  actor: "engineer:bob",
  action: "tunnel.stop",
  clientAddress: "127.0.0.1",
  detail: "done",
} as AuditEntry;

describe("time and endings around a session", () => {
  it("tells in connect's banner where the shell is and how long is left", () => {
    assert.equal(
      sessionBanner(view({}), NOW),
      "root shell on kiosk-7 as support1a2b3c4d; the tunnel ends in 29 min (2030-01-01T12:29:00.000Z)",
    );
    assert.match(
      sessionBanner(view({ expiresAt: "2030-01-01T12:04:00.000Z" }), NOW),
      /ends in 4 min .*: finish up$/,
    );
  });

  it("says why a tunnel ended in words", () => {
    const ended = { state: TunnelState.Completed };
    assert.equal(
      endingReason(view({ ...ended, stoppedBy: StoppedBy.Device, stopReason: "all fixed" })),
      "the customer ended the tunnel (all fixed)",
    );
    assert.equal(
      endingReason(view({ state: TunnelState.TimedOut, stoppedBy: StoppedBy.Expiry })),
      "the tunnel expired at 2030-01-01T12:29:00.000Z",
    );
    assert.equal(
      endingReason(view({ ...ended, stoppedBy: StoppedBy.Engineer }), [stopByBob]),
      "stopped by bob",
    );
    assert.equal(
      endingReason(view({ ...ended, stoppedBy: StoppedBy.Engineer, stopReason: "x\u001b[2J" }), []),
      "stopped by an engineer (x?[2J)",
    );
  });

  it("after ssh fails, names the reason only when the tunnel is over", async () => {
    const api = (tunnel: TunnelView) => ({
      getTunnel: async () => tunnel,
      getAudit: async () => ({ entries: [stopByBob] }),
    });
    assert.equal(await whyTunnelEnded(api(view({})), ID), null);
    assert.equal(
      await whyTunnelEnded(
        api(view({ state: TunnelState.Completed, stoppedBy: StoppedBy.Engineer })),
        ID,
      ),
      "stopped by bob",
    );
    const down = {
      getTunnel: async () => Promise.reject(new Error("unreachable")),
      getAudit: async () => ({ entries: [] }),
    };
    assert.equal(await whyTunnelEnded(down, ID), null);
  });

  it("warns a session before the tunnel expires, only of what is still ahead", async () => {
    const written: string[] = [];
    // The one-minute warning is due at once; the five-minute one is past and never comes.
    const cancel = warnBeforeExpiry(
      new Date(NOW + 60_005).toISOString(),
      (t) => written.push(t),
      NOW,
    );
    await eventually(() => assert.equal(written.length, 1));
    cancel();
    assert.deepEqual(written, [
      "\r\n[support] the tunnel expires in 1 min (2030-01-01T12:01:00.005Z); the session will be cut then\r\n",
    ]);
  });
});
