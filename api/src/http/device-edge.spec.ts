// The device edge's stop with its services faked, for what PostgreSQL cannot stage on
// cue: a client that leaves while its stop is being made.
import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { DeviceTunnelView } from "@support-tunnel/common";
import { eventually } from "@support-tunnel/testkit";
import type { TunnelEntity } from "../entities/tunnel.entity";
import type { Caller } from "../services/tunnel.service";
import { DeviceEdge } from "./device-edge";
import { CHANGED_FOR_A_GONE_CLIENT } from "./logging";
import { loggingInto } from "../testing/logged-lines";

const TUNNEL_ID = "3f6c0b9e-6d2a-4c1e-9a57-0c2b8f1d4e21";

/** The edge on a real server, its services faked: the stop returns when `release` is called. */
async function edgeWithHeldStop() {
  const lines: Record<string, unknown>[] = [];
  let caller: Caller | undefined;
  let release: () => void = () => undefined;
  const sut = new DeviceEdge({
    auth: { device: () => Promise.resolve({ id: TUNNEL_ID } as TunnelEntity) },
    tunnels: {
      deviceView: () => Promise.reject(new Error("not a poll")),
      stopByDevice: (_tunnel, _reason, c) => {
        caller = c;
        return new Promise((resolve) => {
          release = () => resolve({ tunnelId: TUNNEL_ID } as DeviceTunnelView);
        });
      },
    },
    metrics: { observe: () => undefined },
    drain: { trackUntilTold: () => undefined, untrack: () => undefined },
    logger: loggingInto(lines),
    parseQuery: () => ({}),
  });
  const server: Server = createServer((req, res) => void sut.serve(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    lines,
    /** The agent's stop; its request, to be destroyed to leave. */
    stop: () => {
      const req = request({
        host: "127.0.0.1",
        port,
        method: "DELETE",
        path: "/v1/device/tunnel",
        headers: { "content-type": "application/json", "content-length": "2" },
      });
      req.on("error", () => undefined);
      req.end("{}");
      return req;
    },
    stopping: () => eventually(() => assert.ok(caller, "the stop has not begun")),
    callerSignal: () => caller!.signal!,
    release: () => release(),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe("DeviceEdge: the device's stop", () => {
  it("warns, with the client's address and the tunnel, when the stop was made after its client had gone", async () => {
    const edge = await edgeWithHeldStop();
    try {
      const req = edge.stop();
      await edge.stopping();
      req.destroy();
      await eventually(() => assert.ok(edge.callerSignal().aborted, "the signal has not fired"));
      edge.release();
      const warning = await eventually(() => {
        const found = edge.lines.find((l) => l.msg === CHANGED_FOR_A_GONE_CLIENT);
        assert.ok(found, "no warning");
        return found;
      });
      assert.deepEqual([warning.clientAddress, warning.tunnelId], ["127.0.0.1", TUNNEL_ID]);
    } finally {
      await edge.close();
    }
  });

  it("stays quiet for a stop whose client is still there", async () => {
    const edge = await edgeWithHeldStop();
    try {
      const req = edge.stop();
      const answered = new Promise<number>((resolve) =>
        req.on("response", (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        }),
      );
      await edge.stopping();
      edge.release();
      assert.equal(await answered, 200);
      const line = await eventually(() => {
        const found = edge.lines.find((l) => l.msg === "request");
        assert.ok(found, "no request line");
        return found;
      });
      assert.deepEqual([line.actor, line.tunnelId], ["device", TUNNEL_ID]);
      assert.equal(
        edge.lines.find((l) => l.msg === CHANGED_FOR_A_GONE_CLIENT),
        undefined,
      );
    } finally {
      await edge.close();
    }
  });
});
