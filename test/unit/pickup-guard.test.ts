import { describe, expect, it } from 'vitest';
import { policySchema } from '../../controller/config/schema.ts';
import { checkGuard, recordFailure, recordSuccess, resume, type GuardState } from '../../controller/domain/pickup-guard.ts';

const policy = policySchema.parse({ lockoutAfterFailures: 5, lockoutSeconds: 60, dailyFailureCeiling: 20 });
const fresh: GuardState = { consecutiveFailures: 0, lockoutsInRow: 0, lockedUntil: 0, day: '', dayFailures: 0, suspended: false };
const T0 = Date.UTC(2026, 10, 23, 2, 0, 0); // 10:00 in Guangzhou

function failTimes(state: GuardState, n: number, now: number) {
  let s = state;
  let last;
  for (let i = 0; i < n; i++) {
    last = recordFailure(s, now, policy);
    s = last.state;
  }
  return { state: s, last: last! };
}

describe('cabinet-wide attempt limits', () => {
  it('four mistakes are forgiven; the fifth consecutive failure locks the cabinet for a minute', () => {
    const four = failTimes(fresh, 4, T0);
    expect(four.last.lockedOut).toBe(false);
    expect(four.last.attemptsLeft).toBe(1);
    expect(checkGuard(four.state, T0)).toEqual({ allowed: true });
    const five = recordFailure(four.state, T0, policy);
    expect(five.lockedOut).toBe(true);
    expect(checkGuard(five.state, T0 + 1000)).toEqual({ allowed: false, reason: 'locked-out', retryAfterSeconds: 59 });
    expect(checkGuard(five.state, T0 + 60_000)).toEqual({ allowed: true });
  });

  it('each lockout in a row doubles, and a success resets the run', () => {
    const first = failTimes(fresh, 5, T0).state;
    const second = failTimes(first, 5, T0 + 61_000).state;
    expect(second.lockedUntil - (T0 + 61_000)).toBe(120_000);
    const ok = recordSuccess(second);
    const third = failTimes(ok, 5, T0 + 200_000).state;
    expect(third.lockedUntil - (T0 + 200_000)).toBe(60_000);
  });

  it('the daily ceiling suspends code entry until a clerk resumes it, whatever the time', () => {
    let s = fresh;
    let t = T0;
    let outcome;
    for (let i = 0; i < 20; i++) {
      outcome = recordFailure(s, t, policy);
      s = outcome.state;
      t = Math.max(t + 1000, s.lockedUntil + 1000); // each try after the lockout has run out
    }
    expect(outcome!.suspendedNow).toBe(true);
    expect(checkGuard(s, t + 86_400_000 * 3)).toEqual({ allowed: false, reason: 'suspended' });
    expect(checkGuard(resume(s, t), t)).toEqual({ allowed: true });
  });

  it('the daily count starts again on a new local day', () => {
    const late = Date.UTC(2026, 10, 23, 15, 59, 0); // 23:59 in Guangzhou
    const s = failTimes(fresh, 3, late).state;
    const next = recordFailure(s, late + 2 * 60_000, policy);
    expect(next.state.dayFailures).toBe(1);
    expect(next.state.day).toBe('2026-11-24');
  });
});
