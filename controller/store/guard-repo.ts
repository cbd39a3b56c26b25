import type { GuardState } from '../domain/pickup-guard.ts';
import type { Db } from './database.ts';

export class GuardRepo {
  constructor(private readonly db: Db) {}

  get(): GuardState {
    const r = this.db.prepare('SELECT * FROM pickup_guard WHERE id = 1').get() as { consecutive_failures: number; lockouts_in_row: number; locked_until: number; day: string; day_failures: number; suspended: number };
    return { consecutiveFailures: r.consecutive_failures, lockoutsInRow: r.lockouts_in_row, lockedUntil: r.locked_until, day: r.day, dayFailures: r.day_failures, suspended: r.suspended === 1 };
  }

  put(s: GuardState): void {
    this.db.prepare('UPDATE pickup_guard SET consecutive_failures = ?, lockouts_in_row = ?, locked_until = ?, day = ?, day_failures = ?, suspended = ? WHERE id = 1')
      .run(s.consecutiveFailures, s.lockoutsInRow, s.lockedUntil, s.day, s.dayFailures, s.suspended ? 1 : 0);
  }
}
