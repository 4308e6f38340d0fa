// The hand checks against the zod schemas they stand in for: the same input to
// both, and both must refuse it, or both accept it with the same output.
import * as assert from "node:assert/strict";
import { compareChecks, type CheckRow as Row } from "@support-tunnel/testkit";
import { deviceTunnelViewSchema } from "./schemas";
import { ValidationError } from "./validation-error";
import { checkDeviceTunnelView } from "./wire-check";

const KEY = "6Ij1DkkcBXeVhmHDSYGl8+P5dd6pNWyG3u4pkhqjJms=";

function goodView(): Record<string, unknown> {
  return {
    tunnelId: "0b5e2c4a-1111-4222-8333-444455556666",
    state: "started",
    network: "10.21.7.0/30",
    createdAt: "2026-12-02T03:00:00.000Z",
    expiresAt: "2026-12-02T05:00:00+01:00",
    server: { wgPublicKey: KEY, publicIp: "203.0.113.7", wgPort: 51820, approval: "sealed" },
    stoppedBy: null,
    stopReason: null,
    ticket: "ABC-123",
    notBefore: null,
    allowedEngineers: ["alice"],
    allowedPorts: [80, 443],
  };
}

const drop = (key: string) => (v: Record<string, unknown>) => {
  delete v[key];
  return v;
};
const set = (key: string, value: unknown) => (v: Record<string, unknown>) => ({
  ...v,
  [key]: value,
});
const inServer = (key: string, value: unknown) => (v: Record<string, unknown>) => ({
  ...v,
  server: { ...(v.server as object), [key]: value },
});

/** Every field missing, null, of the wrong type, and at and past its limits. */
const VIEW_ROWS: Row[] = [
  ["a good view", (v) => v],
  ["not an object", () => "view"],
  ["null", () => null],
  ["an array", () => []],
  ["an unknown field (dropped)", set("extra", 1)],
  ...[
    "tunnelId",
    "state",
    "network",
    "createdAt",
    "expiresAt",
    "server",
    "stoppedBy",
    "stopReason",
    "ticket",
    "notBefore",
    "allowedEngineers",
    "allowedPorts",
  ].flatMap((key): Row[] => [
    [`${key} missing`, drop(key)],
    [`${key} null`, set(key, null)],
    [`${key} a number`, set(key, 7)],
    [`${key} an object`, set(key, {})],
    [`${key} empty`, set(key, "")],
  ]),
  ["tunnelId upper case", set("tunnelId", "0B5E2C4A-1111-4222-8333-444455556666")],
  ["state unknown", set("state", "Started")],
  ["every state", set("state", "timedout")],
  ["network public", set("network", "8.8.8.0/30")],
  ["network /27", set("network", "10.21.7.0/27")],
  ["network /28", set("network", "10.21.7.0/28")],
  ["network with host bits", set("network", "10.21.7.1/30")],
  ["time without seconds", set("createdAt", "2026-12-02T03:00Z")],
  ["time without zone", set("createdAt", "2026-12-02T03:00:00")],
  ["time on 29 February of a common year", set("createdAt", "2026-02-29T03:00:00Z")],
  ["time on 29 February of a leap year", set("createdAt", "2028-02-29T03:00:00Z")],
  ["time at hour 24", set("expiresAt", "2026-12-02T24:00:00Z")],
  ["time with a bad offset", set("expiresAt", "2026-12-02T03:00:00+24:00")],
  ["time with a space", set("expiresAt", "2026-12-02 03:00:00Z")],
  ["time with nanoseconds", set("expiresAt", "2026-12-02T03:00:00.123456789-05:30")],
  ["server a string", set("server", "x")],
  ["server key bad", inServer("wgPublicKey", "short")],
  ["server key with a bad last character", inServer("wgPublicKey", KEY.replace("s=", "t="))],
  ["server ip bad", inServer("publicIp", "203.0.113.256")],
  ["server port 0", inServer("wgPort", 0)],
  ["server port 65536", inServer("wgPort", 65536)],
  ["server port fractional", inServer("wgPort", 1.5)],
  ["server port a string", inServer("wgPort", "51820")],
  ["server approval missing", inServer("approval", undefined)],
  ["server approval a number", inServer("approval", 1)],
  ["server with an unknown field (dropped)", inServer("extra", true)],
  ["stoppedBy each", set("stoppedBy", "expiry")],
  ["stoppedBy unknown", set("stoppedBy", "api")],
  ["stopReason with escapes (sanitized)", set("stopReason", "bye\u001b[2J\u202e")],
  ["ticket bad", set("ticket", "has space")],
  ["ticket too long", set("ticket", "a".repeat(65))],
  ["ticket longest", set("ticket", "a".repeat(64))],
  ["notBefore a time", set("notBefore", "2026-12-02T04:00:00Z")],
  ["notBefore bad", set("notBefore", "tomorrow")],
  ["allowedEngineers empty", set("allowedEngineers", [])],
  ["allowedEngineers twice (allowed in the view)", set("allowedEngineers", ["bob", "bob"])],
  ["allowedEngineers bad name", set("allowedEngineers", ["Bob"])],
  ["allowedEngineers not strings", set("allowedEngineers", [1])],
  ["allowedPorts 22", set("allowedPorts", [22])],
  ["allowedPorts twice", set("allowedPorts", [80, 80])],
  [
    "allowedPorts 16",
    set(
      "allowedPorts",
      Array.from({ length: 16 }, (_, i) => 1000 + i),
    ),
  ],
  [
    "allowedPorts 17",
    set(
      "allowedPorts",
      Array.from({ length: 17 }, (_, i) => 1000 + i),
    ),
  ],
  ["allowedPorts a fraction", set("allowedPorts", [80.5])],
  ["allowedPorts a string", set("allowedPorts", ["80"])],
];

describe("checkDeviceTunnelView", () => {
  it("accepts and refuses what deviceTunnelViewSchema does, with the same output", () => {
    compareChecks(
      VIEW_ROWS,
      goodView,
      (v) => deviceTunnelViewSchema.safeParse(v),
      (v) => checkDeviceTunnelView(v),
      (err) => err instanceof ValidationError,
    );
  });

  it("names the bad field", () => {
    assert.throws(
      () =>
        checkDeviceTunnelView({
          ...goodView(),
          server: { ...(goodView().server as object), wgPort: 0 },
        }),
      { field: "server.wgPort", message: "server.wgPort: must be between 1 and 65535" },
    );
    assert.throws(() => checkDeviceTunnelView(null), {
      field: "response",
      message: "response: must be an object",
    });
  });

  it("can fail: a row the hand check gets wrong is caught", () => {
    assert.throws(() =>
      compareChecks(
        [["a port of 0", inServer("wgPort", 0)]],
        goodView,
        (v) => deviceTunnelViewSchema.safeParse(v),
        (v) => v,
        (err) => err instanceof ValidationError,
      ),
    );
  });
});
