import type { PickupPolicy } from '../config/schema.ts';

/**
 * Failed pickup attempts are limited per cabinet, not per code: someone trying codes cannot spread the
 * guesses over many codes. Pure rules over a stored state and the time; the store persists the result.
 */
export interface GuardState {
  readonly consecutiveFailures: number;
  readonly lockoutsInRow: number;
  readonly lockedUntil: number;
  /** The local calendar day the daily count belongs to, `YYYY-MM-DD`. */
  readonly day: string;
  readonly dayFailures: number;
  /** The daily ceiling was reached: code entry is stopped until a clerk re-enables it. */
  readonly suspended: boolean;
}

export type GuardVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: 'locked-out'; readonly retryAfterSeconds: number }
  | { readonly allowed: false; readonly reason: 'suspended' };

export function localDay(now: number, utcOffsetMinutes = 8 * 60): string {
  return new Date(now + utcOffsetMinutes * 60_000).toISOString().slice(0, 10);
}

export function checkGuard(state: GuardState, now: number): GuardVerdict {
  if (state.suspended) return { allowed: false, reason: 'suspended' };
  if (state.lockedUntil > now) return { allowed: false, reason: 'locked-out', retryAfterSeconds: Math.ceil((state.lockedUntil - now) / 1000) };
  return { allowed: true };
}

export interface FailureOutcome {
  readonly state: GuardState;
  /** This failure started a lockout (until `state.lockedUntil`). */
  readonly lockedOut: boolean;
  /** This failure reached the daily ceiling. */
  readonly suspendedNow: boolean;
  /** Failures left before the next lockout. */
  readonly attemptsLeft: number;
}

export function recordFailure(state: GuardState, now: number, policy: PickupPolicy): FailureOutcome {
  const day = localDay(now);
  const dayFailures = (state.day === day ? state.dayFailures : 0) + 1;
  let consecutive = state.consecutiveFailures + 1;
  let lockoutsInRow = state.lockoutsInRow;
  let lockedUntil = state.lockedUntil;
  let lockedOut = false;
  if (consecutive >= policy.lockoutAfterFailures) {
    // Each lockout in a row doubles, up to an hour: slow for a guesser, a short wait for a person.
    const seconds = Math.min(3600, policy.lockoutSeconds * 2 ** lockoutsInRow);
    lockedUntil = now + seconds * 1000;
    lockoutsInRow += 1;
    consecutive = 0;
    lockedOut = true;
  }
  const suspendedNow = !state.suspended && dayFailures >= policy.dailyFailureCeiling;
  return {
    state: { consecutiveFailures: consecutive, lockoutsInRow, lockedUntil, day, dayFailures, suspended: state.suspended || suspendedNow },
    lockedOut,
    suspendedNow,
    attemptsLeft: policy.lockoutAfterFailures - consecutive,
  };
}

/** A successful pickup ends the run of failures (the daily count stays). */
export function recordSuccess(state: GuardState): GuardState {
  return { ...state, consecutiveFailures: 0, lockoutsInRow: 0 };
}

/** A clerk re-enables code entry after the daily ceiling. */
export function resume(state: GuardState, now: number): GuardState {
  return { ...state, suspended: false, consecutiveFailures: 0, lockoutsInRow: 0, lockedUntil: 0, day: localDay(now), dayFailures: 0 };
}
