export interface BackoffOptions {
  /** The first delay after a failure (before jitter). */
  minMs: number;
  /** The delay never grows past this. */
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": the n-th retry (0-based) waits between half and all of
 * min(maxMs, minMs·2ⁿ), so a fleet of cabinets that lost the same switch does not reconnect in lockstep.
 */
export function backoffDelay(attempt: number, { minMs, maxMs }: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
