import assert from "node:assert/strict";
import { TunnelState, type TunnelId, type TunnelView } from "@support-tunnel/common";
import { renderTunnel } from "./show";

const tunnel: TunnelView = {
  tunnelId: "0b7e3f52-9a61-4c1e-8d2f-3a4b5c6d7e8f" as TunnelId,
  state: TunnelState.Pending,
  network: "10.20.30.0/30",
  hostname: "kiosk-7",
  description: "printer",
  deviceWgPublicKey: "x" as never,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  expiresAt: "2026-01-01T04:00:00.000Z",
  server: null,
  supportUser: null,
  approvedBy: null,
  stoppedBy: null,
  stopReason: null,
  endedAt: null,
  ticket: "ABC-123",
  notBefore: "2026-01-01T02:00:00.000Z",
  allowedEngineers: ["alice", "carol"],
  refusal: null,
};

describe("support show", () => {
  it("shows the customer's ticket, start and engineers", () => {
    const text = renderTunnel(tunnel);
    assert.match(text, /^ticket: +ABC-123$/m);
    assert.match(text, /^opens: +2026-01-01T02:00:00\.000Z$/m);
    assert.match(text, /^engineers: +only alice, carol$/m);
  });

  it("leaves out the choices the customer did not make", () => {
    const text = renderTunnel({ ...tunnel, ticket: null, notBefore: null, allowedEngineers: null });
    assert.doesNotMatch(text, /^(ticket|opens|engineers):/m);
  });
});
