/** Bounds of a reconnect delay. */
export interface BackoffBounds {
  /** The ceiling of the first retry, and the unit the ceiling doubles from. */
  readonly baseMs: number;
  /** The ceiling never grows past this. */
  readonly maxMs: number;
  /** No retry sooner than this (a broker that refuses at once must not be hammered). */
  readonly floorMs: number;
}

export const FLEET_BACKOFF: BackoffBounds = { baseMs: 1000, maxMs: 30_000, floorMs: 250 };

/**
 * Exponential backoff with full jitter: the `attempt`-th retry (0 = the first) waits a uniformly random time
 * up to min(maxMs, baseMs × 2^attempt), never less than floorMs. A thousand clients that lost the same broker
 * at the same moment then come back spread over the window instead of in one wave, and ever more rarely
 * while it stays away.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random, bounds: BackoffBounds = FLEET_BACKOFF): number {
  const ceiling = Math.min(bounds.maxMs, bounds.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(bounds.floorMs + random() * Math.max(0, ceiling - bounds.floorMs));
}
