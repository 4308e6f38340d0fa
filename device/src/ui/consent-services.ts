// What the consent page's routes stand on: the services it is given, and the one
// schema of what a customer may ask for. The routes only parse, call and answer;
// the device's implementation is device-consent-services.ts, specs pass fakes.
import { z } from "zod";
import {
  allowedEngineersSchema,
  allowedPortsSchema,
  descriptionSchema,
  ticketSchema,
  ttlSecondsSchema,
} from "@support-tunnel/common";
import type {
  ConsentTunnel,
  RequestedTunnel,
  SessionSummary,
  StoppedTunnel,
  TimelineEntry,
} from "./consent-api";

/**
 * The body of `POST /api/tunnels`: the choices of `support-device request`. A
 * choice added here is accepted by the route and its field shown by the page
 * (`choices` in `GET /api/session` lists these keys, in the form's order).
 */
export const consentRequestSchema = z
  .object({
    description: descriptionSchema.optional(),
    /** The support case (`--ticket`). */
    ticket: ticketSchema.optional(),
    ttlSeconds: ttlSecondsSchema.optional(),
    /** Access opens no earlier (`--start`): an ISO time, read by the device's clock. */
    start: z
      .string({ error: "must be a string" })
      .max(64, "must be at most 64 characters")
      .optional(),
    /** Only these engineers may take it (`--engineer`, repeatable). */
    engineers: allowedEngineersSchema.optional(),
    /** Device ports support may forward (`--allow-port`, repeatable); not 22. */
    ports: allowedPortsSchema.optional(),
  })
  .strict();
export type ConsentRequest = z.infer<typeof consentRequestSchema>;

/** The choices the page offers, in the order of its form. */
export const CONSENT_CHOICES: readonly string[] = Object.keys(consentRequestSchema.shape);

/**
 * Everything the page does, as calls. Unknown ids are `null`; errors are thrown
 * and the server maps them to a status (a DeviceError by its exit code).
 */
export interface ConsentPageServices {
  /** Registers a request: what `support-device request` does. */
  request(choices: ConsentRequest): Promise<RequestedTunnel>;
  /** Every tunnel to show: the live ones, newest first, then the ended ones. */
  list(): Promise<ConsentTunnel[]>;
  status(tunnelId: string): Promise<ConsentTunnel | null>;
  /** The kill switch: what `support-device stop <id>` does. */
  stop(tunnelId: string): Promise<StoppedTunnel>;
  /** The session record's readers; routes and page parts appear when present. */
  timeline?(tunnelId: string): Promise<TimelineEntry[] | null>;
  sessions?(tunnelId: string): Promise<SessionSummary[] | null>;
  /** A session's recording as asciicast v2 text, for the replay page. */
  cast?(sessionId: string): Promise<string | null>;
}
