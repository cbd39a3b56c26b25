import { checkGuard, recordFailure } from '../domain/pickup-guard.ts';
import { raiseAlarm } from './alarms.ts';
import type { ServiceContext } from './context.ts';

/**
 * The cabinet-wide attempt guard as the kiosk's services use it: one guard for every way of proving who one
 * is at the cabinet (a pickup code or QR with the ID suffix, and a lost-code request's case number with the
 * ID suffix), so no path is a way around it. The rules are in controller/domain/pickup-guard.ts.
 */

/** How a refused attempt was made: the credential's form, or `resend` (case number + ID suffix at the kiosk). */
export type AttemptMethod = 'code' | 'qr' | 'resend' | 'deposit';

export type GuardRefusal =
  | { readonly reason: 'locked-out'; readonly retryAfterSeconds: number }
  | { readonly reason: 'suspended'; readonly window: string };

export type FailedAttempt = GuardRefusal | { readonly reason: 'invalid'; readonly attemptsLeft: number };

/** Whether attempts are evaluated now: `null` if so, else why not. */
export function guardRefusal(s: ServiceContext): GuardRefusal | null {
  const verdict = checkGuard(s.repos.guard.get(), s.store.clock.now());
  if (verdict.allowed) return null;
  return verdict.reason === 'locked-out'
    ? { reason: 'locked-out', retryAfterSeconds: verdict.retryAfterSeconds }
    : { reason: 'suspended', window: s.config.policy.helpWindow };
}

/**
 * Records a failed attempt in its own change: the guard's counters, `pickup.denied` (reason `invalid`) for
 * ops, the audit entry with why (for staff, never shown to the applicant), and a lockout or the daily
 * ceiling (with its alarm) when this failure reaches one. Answers what the applicant is told.
 */
export function recordFailedAttempt(s: ServiceContext, attempt: { method: AttemptMethod; channel: string; why: string }): FailedAttempt {
  const { policy } = s.config;
  const { method, channel, why } = attempt;
  return s.store.change((ctx): FailedAttempt => {
    const outcome = recordFailure(s.repos.guard.get(), ctx.now, policy);
    s.repos.guard.put(outcome.state);
    ctx.event('pickup.denied', { method, channel, reason: 'invalid', consecutive: outcome.lockedOut ? policy.lockoutAfterFailures : outcome.state.consecutiveFailures, today: outcome.state.dayFailures });
    ctx.audit('applicant', 'pickup.denied', { method, channel, why });
    if (outcome.lockedOut) {
      const until = new Date(outcome.state.lockedUntil).toISOString();
      ctx.event('pickup.lockout', { kind: 'lockout', until, failuresToday: outcome.state.dayFailures });
      ctx.audit('cabinet', 'pickup.lockout', { until });
    }
    if (outcome.suspendedNow) {
      const alarmId = raiseAlarm(s.repos.alarms, ctx, 'daily-ceiling', null, { failuresToday: outcome.state.dayFailures });
      ctx.event('pickup.lockout', { kind: 'daily-ceiling', failuresToday: outcome.state.dayFailures, alarm: true, alarmId });
      ctx.audit('cabinet', 'pickup.suspended', { failuresToday: outcome.state.dayFailures });
    }
    if (outcome.suspendedNow) return { reason: 'suspended', window: policy.helpWindow };
    if (outcome.lockedOut) return { reason: 'locked-out', retryAfterSeconds: Math.ceil((outcome.state.lockedUntil - ctx.now) / 1000) };
    return { reason: 'invalid', attemptsLeft: outcome.attemptsLeft };
  });
}
