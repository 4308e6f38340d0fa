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
  allowedPorts: [80, 443],
  customer: "acme",
  sessions: [],
  refusal: null,
};

describe("support show", () => {
  it("shows the customer's ticket, start and engineers", () => {
    const text = renderTunnel(tunnel, Date.parse("2026-01-01T01:31:00.000Z"));
    assert.match(text, /^ticket: +ABC-123$/m);
    assert.match(text, /^opens: +2026-01-01T02:00:00\.000Z \(in 29 min\)$/m);
    assert.match(text, /^created: +2026-01-01T00:00:00\.000Z \(1 h 31 min ago\)$/m);
    assert.match(text, /^code: +([0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{3}$/m);
    assert.match(text, /^engineers: +only alice, carol$/m);
  });

  it("leaves out the choices the customer did not make", () => {
    const text = renderTunnel({ ...tunnel, ticket: null, notBefore: null, allowedEngineers: null });
    assert.doesNotMatch(text, /^(ticket|opens|engineers):/m);
  });

  it("shows who is in now and every session the device reported, with no content", () => {
    const text = renderTunnel({
      ...tunnel,
      state: TunnelState.Connected,
      sessions: [
        {
          session: "0123456789ab",
          engineer: "alice",
          startedAt: "2026-01-01T02:05:00.000Z",
          endedAt: "2026-01-01T02:05:01.000Z",
          exitCode: 0,
        },
        {
          session: "ba9876543210",
          engineer: "carol",
          startedAt: "2026-01-01T02:06:00.000Z",
          endedAt: null,
          exitCode: null,
        },
      ],
    });
    assert.match(text, /^in now: +carol$/m);
    assert.match(
      text,
      /^ {2}alice from 2026-01-01T02:05:00\.000Z to 2026-01-01T02:05:01\.000Z, exit 0 \[0123456789ab\]$/m,
    );
    assert.match(text, /^ {2}carol from 2026-01-01T02:06:00\.000Z still open \[ba9876543210\]$/m);
  });
});
