// Tunnels for the measures, requested through the api as devices do: each
// from a device of its own, naming itself (x-device-id), so that its polls
// keep the fleet view's "last request" as a real agent's do.
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import { DEVICE_ID_HEADER, generateKeyPair } from "@support-tunnel/common";
import { mapLimit } from "@support-tunnel/testkit";
import { request } from "../http-load";

export interface BenchTunnel {
  tunnelId: string;
  token: string;
}

export async function requestTunnels(apiUrl: string, count: number): Promise<BenchTunnel[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  const deviceWgPublicKey = generateKeyPair().publicKey;
  try {
    return await mapLimit(
      Array.from({ length: count }, (_, i) => i),
      20,
      async (i) => {
        const answer = await request(agent, `${apiUrl}/v1/device/tunnels`, {
          method: "POST",
          headers: { "content-type": "application/json", [DEVICE_ID_HEADER]: randomUUID() },
          body: JSON.stringify({
            deviceWgPublicKey,
            network: `10.${64 + ((i >> 14) & 63)}.${(i >> 6) & 255}.${(i & 63) * 4}/30`,
          }),
        });
        if (answer.status !== 201)
          throw new Error(`tunnel request: ${answer.status} ${answer.body}`);
        return JSON.parse(answer.body) as BenchTunnel;
      },
    );
  } finally {
    agent.destroy();
  }
}
