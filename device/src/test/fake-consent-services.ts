// Fake services for the consent page's specs: canned tunnels, and a record of
// every call the routes made, so a spec can tell a refused request changed nothing.
import type {
  ConsentTunnel,
  RequestedTunnel,
  SessionSummary,
  StoppedTunnel,
  TimelineEntry,
} from "../ui/consent-api";
import type { ConsentPageServices, ConsentRequest } from "../ui/consent-services";

export const WAITING_ID = "3f6c0b9e-6d2a-4c1e-9a57-0c2b8f1d4e21";
export const CONNECTED_ID = "4a7d1c2f-0b3e-4f5a-8c6d-7e8f9a0b1c2d";
export const ENDED_ID = "5b8e2d3a-1c4f-4a6b-9d7e-8f9a0b1c2d3e";
export const SAMPLE_KEY = "9mW3m0d3b7v7m0o7QJ1yq6c7lq8sV2C0n1u8kq3Rk0A=";

/** A waiting, a connected and an ended tunnel, times around `now`. */
export function sampleTunnels(now = Date.now()): ConsentTunnel[] {
  const at = (minutes: number) => new Date(now + minutes * 60_000).toISOString();
  return [
    {
      tunnelId: WAITING_ID,
      status: "waiting",
      presharedKey: SAMPLE_KEY,
      description: "printer queue is stuck",
      requestedAt: at(-1),
      expiresAt: at(72.5),
      supportUser: "support1a2b3c4d",
    },
    {
      tunnelId: CONNECTED_ID,
      status: "connected",
      requestedAt: at(-60),
      connectedSince: at(-50),
      expiresAt: at(60),
      supportUser: "support9e8d7c6b",
      approvedBy: "alice",
      ticket: "ABC-123",
      activeSessions: [{ engineer: "alice", since: at(-5), kind: "shell" }],
    },
    {
      tunnelId: ENDED_ID,
      status: "ended",
      requestedAt: at(-120),
      expiresAt: at(-60),
      endedAt: at(-62),
      endedBy: "customer",
      supportUser: "support5f4e3d2c",
    },
  ];
}

export class FakeConsentServices implements ConsentPageServices {
  readonly calls: string[] = [];
  readonly requests: ConsentRequest[] = [];
  tunnels: ConsentTunnel[] = sampleTunnels();
  /** Thrown by the next request, when set. */
  failure: Error | null = null;

  async request(choices: ConsentRequest): Promise<RequestedTunnel> {
    this.calls.push("request");
    if (this.failure) throw this.failure;
    this.requests.push(choices);
    return { tunnelId: WAITING_ID, presharedKey: SAMPLE_KEY, expiresAt: "2030-01-01T02:00:00Z" };
  }

  async list(): Promise<ConsentTunnel[]> {
    this.calls.push("list");
    return this.tunnels;
  }

  async status(tunnelId: string): Promise<ConsentTunnel | null> {
    this.calls.push(`status ${tunnelId}`);
    return this.tunnels.find((t) => t.tunnelId === tunnelId) ?? null;
  }

  async stop(tunnelId: string): Promise<StoppedTunnel> {
    this.calls.push(`stop ${tunnelId}`);
    const found = this.tunnels.some((t) => t.tunnelId === tunnelId);
    this.tunnels = this.tunnels.map((t) =>
      t.tunnelId === tunnelId ? { ...t, status: "ended", endedBy: "customer" } : t,
    );
    return { tunnelId, found, apiTold: true };
  }
}

/** The same, with a session record: a timeline, sessions and one recording. */
export class FakeRecordedConsentServices extends FakeConsentServices {
  async timeline(tunnelId: string): Promise<TimelineEntry[] | null> {
    this.calls.push(`timeline ${tunnelId}`);
    if (tunnelId !== ENDED_ID) return null;
    return [
      { at: "2030-01-01T10:00:00Z", text: "requested: printer queue is stuck" },
      { at: "2030-01-01T10:02:00Z", text: "alice ran: systemctl restart cups (exit 0, 0.4 s)" },
    ];
  }

  async sessions(tunnelId: string): Promise<SessionSummary[] | null> {
    this.calls.push(`sessions ${tunnelId}`);
    if (tunnelId !== ENDED_ID) return null;
    return [
      {
        sessionId: "s1",
        engineer: "alice",
        kind: "command",
        command: "systemctl restart cups",
        startedAt: "2030-01-01T10:02:00Z",
        endedAt: "2030-01-01T10:02:01Z",
        exitCode: 0,
        replayable: true,
      },
    ];
  }

  async cast(sessionId: string): Promise<string | null> {
    this.calls.push(`cast ${sessionId}`);
    if (sessionId !== "s1") return null;
    return [
      JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1893492120 }),
      JSON.stringify([0.1, "o", "root@kiosk-7:~# systemctl restart cups\r\n"]),
      JSON.stringify([0.5, "o", "REPLAYED-OUTPUT\r\n"]),
    ].join("\n");
  }
}
