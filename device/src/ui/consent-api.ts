// The JSON of the consent page's routes under /api/: what the page reads, and what a
// device vendor's own UI can rely on. Plain types and no imports, so the page's
// browser code (src/ui/page) compiles against the very same declarations.

/** Where a tunnel stands, in the customer's terms. */
export type ConsentTunnelStatus =
  /** Requested; support has not approved it yet. */
  | "waiting"
  /** Approved; the device is bringing it up. */
  | "connecting"
  /** Up: support can log in. */
  | "connected"
  /** Being taken down. */
  | "ending"
  /** Over: stopped by the customer or support, or expired. */
  | "ended";

/** Who ended a tunnel: this device's customer, support, or the clock. */
export type EndedBy = "customer" | "support" | "expiry" | "unknown";

/** Someone of support inside the device right now (from the session record). */
export interface ActiveSession {
  engineer: string;
  since: string;
  /** `command` for a one-shot command, `shell` for an interactive one. */
  kind?: "command" | "shell";
  sessionId?: string;
}

/**
 * One tunnel as the page shows it. Optional fields are shown when present: the
 * customer's choices, the approver (from the approval the device verified), the
 * sessions (from the session record).
 */
export interface ConsentTunnel {
  tunnelId: string;
  /** The tunnel id to read out on the phone (`support` takes either). */
  tunnelCode?: string;
  status: ConsentTunnelStatus;
  /** Only while waiting: the key the customer sends to support with the id. */
  presharedKey?: string;
  /** Only while waiting: the key to read out on the phone, with its check symbol. */
  presharedKeyCode?: string;
  description?: string;
  requestedAt: string;
  /** When access ends, by this device's clock. */
  expiresAt: string;
  /** The throwaway account support logs in as. */
  supportUser: string;
  /** When the tunnel came up, when the device knows it. */
  connectedSince?: string;
  endedAt?: string;
  endedBy?: EndedBy;
  endReason?: string;
  /** The customer's choices at request time. */
  ticket?: string;
  /** Access opens no earlier than this. */
  startsAt?: string;
  /** Only these engineers may take it. */
  allowedEngineers?: string[];
  /** Device ports support may forward, besides SSH. */
  allowedPorts?: number[];
  /** The engineer whose approval the device accepted. */
  approvedBy?: string;
  /** Who of support is in a session right now. */
  activeSessions?: ActiveSession[];
}

/** `POST /api/tunnels`: what the customer chooses, as `support-device request` takes it. */
export interface ConsentRequestBody {
  description?: string;
  /** The support case, shown to engineers; the approval must name it. */
  ticket?: string;
  /** How long support may stay, 60 s to 7 days; the device's config decides when absent. */
  ttlSeconds?: number;
  /** Access opens no earlier (an ISO time, at most 7 days ahead); the duration runs from it. */
  start?: string;
  /** Only these engineers (their names on the support side) may take it. */
  engineers?: string[];
  /** Device ports support may forward (`--allow-port`). */
  ports?: number[];
}

/** The answer to `POST /api/tunnels`: what `support-device request --json` prints. */
export interface RequestedTunnel {
  tunnelId: string;
  presharedKey: string;
  tunnelCode?: string;
  presharedKeyCode?: string;
  expiresAt: string;
}

/** The answer to `DELETE /api/tunnels/:id`. */
export interface StoppedTunnel {
  tunnelId: string;
  /** False when this device had nothing left of it. */
  found: boolean;
  /** False when the api could not be told (it learns at expiry or from support). */
  apiTold: boolean;
}

/** One line of a tunnel's timeline, as a person reads it. */
export interface TimelineEntry {
  at: string;
  text: string;
}

/** One session of support on the device, from the session record. */
export interface SessionSummary {
  sessionId: string;
  engineer: string;
  kind: "command" | "shell";
  /** The command, for a one-shot command. */
  command?: string;
  startedAt: string;
  endedAt?: string;
  exitCode?: number;
  /** True when its recording can be replayed (`GET /api/sessions/:id/cast`). */
  replayable: boolean;
}

/** `GET /api/session`: the page's session, its CSRF token, and what this device offers. */
export interface PageSessionInfo {
  /** Sent back in `X-CSRF-Token` with every POST and DELETE. */
  csrfToken: string;
  /** A password is set: the routes answer 401 until `POST /api/login`. */
  loginRequired: boolean;
  authenticated: boolean;
  /** This device's host name, for the page's title. */
  deviceName: string;
  /** The fields `POST /api/tunnels` accepts. */
  choices: string[];
  /** Optional routes this device serves. */
  features: { timeline: boolean; sessions: boolean; replay: boolean };
}

/** Every 4xx/5xx answer, like the api's: the bad field is named when there is one. */
export interface ErrorBody {
  statusCode: number;
  message: string;
  field?: string;
}
