// The tunnel state machine. States only move forward: the rank is stored as an
// integer so "never go backwards" is a single comparison in a conditional UPDATE.

export enum TunnelState {
  Pending = "pending",
  Started = "started",
  Running = "running",
  Connected = "connected",
  Completed = "completed",
  TimedOut = "timedout",
}

export const TUNNEL_STATES: readonly TunnelState[] = [
  TunnelState.Pending,
  TunnelState.Started,
  TunnelState.Running,
  TunnelState.Connected,
  TunnelState.Completed,
  TunnelState.TimedOut,
];

/**
 * The states a tunnel can be in, for help texts and filters. Every state is
 * entered now: `connected` once the device reports support's first session.
 */
export const ENTERED_STATES: readonly TunnelState[] = TUNNEL_STATES;

const RANKS: Record<TunnelState, number> = {
  [TunnelState.Pending]: 10,
  [TunnelState.Started]: 20,
  [TunnelState.Running]: 30,
  [TunnelState.Connected]: 40,
  [TunnelState.Completed]: 50,
  [TunnelState.TimedOut]: 60,
};

export function stateRank(state: TunnelState): number {
  return RANKS[state];
}

export function stateFromRank(rank: number): TunnelState {
  const found = TUNNEL_STATES.find((s) => RANKS[s] === rank);
  if (!found) throw new Error(`unknown tunnel state rank ${rank}`);
  return found;
}

export function isTunnelState(value: unknown): value is TunnelState {
  return typeof value === "string" && (TUNNEL_STATES as readonly string[]).includes(value);
}

/** Completed and timed out tunnels are over: nothing may bring them back. */
export function isTerminal(state: TunnelState): boolean {
  return state === TunnelState.Completed || state === TunnelState.TimedOut;
}

/** Who ended a tunnel. */
export enum StoppedBy {
  Device = "device",
  Engineer = "engineer",
  Expiry = "expiry",
}

/** The terminal state a stop leads to: expiry times out, anything else completes. */
export function terminalStateFor(stoppedBy: StoppedBy): TunnelState {
  return stoppedBy === StoppedBy.Expiry ? TunnelState.TimedOut : TunnelState.Completed;
}
