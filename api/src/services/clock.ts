// The clock behind an adapter, so tests can move time forward to expire tunnels.
export interface Clock {
  now(): Date;
}

export const CLOCK = Symbol("Clock");
export const API_CONFIG = Symbol("ApiConfig");

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests can set and advance. */
export class ManualClock implements Clock {
  private ms: number;
  constructor(start: Date = new Date()) {
    this.ms = start.getTime();
  }
  now(): Date {
    return new Date(this.ms);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}
