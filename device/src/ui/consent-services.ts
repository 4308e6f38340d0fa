// What the consent page's routes stand on: the services it is given, and the one
// schema of what a customer may ask for. The routes only parse, call and answer;
// the device's implementation is device-consent-services.ts, specs pass fakes.
import { z } from "zod";
import { descriptionSchema, ttlSecondsSchema } from "@support-tunnel/common";
import type {
  ConsentTunnel,
  RequestedTunnel,
  SessionSummary,
  StoppedTunnel,
  TimelineEntry,
} from "./consent-api";

/**
 * The body of `POST /api/tunnels`. A choice added here (ticket, start, engineers)
 * is accepted by the route and its field shown by the page (`choices` in
 * `GET /api/session` lists these keys).
 */
export const consentRequestSchema = z
  .object({
    description: descriptionSchema.optional(),
    ttlSeconds: ttlSecondsSchema.optional(),
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
