import type { ServiceContext } from './context.ts';
import { PeriodicSweep } from './periodic.ts';

/** What stands in for the applicant once their personal data is purged. */
export const PURGED_APPLICANT = { name: '*', phone: '***', idNumber: '***' } as const;
export const PURGED_AGENT = { name: '*', idNumber: '***' } as const;
/** Cases whose items are gone from the cabinet for good: their personal data is purged after `purgeAfterHours`. */
const CLOSED_STATES: ReadonlySet<string> = new Set(['collected', 'retrieved', 'cancelled', 'returned']);

/**
 * Personal data purge (GB/T 35273): `policy.purgeAfterHours` after a case was collected, retrieved or cancelled (its items back), its
 * applicant's encrypted data and ID-suffix hash are erased, the masked copy is replaced, and any notification
 * still queued for it is deleted. One change (event + audit) per case.
 */
export class PurgeService {
  readonly #periodic: PeriodicSweep;

  constructor(private readonly s: ServiceContext, intervalMs = 10 * 60_000) {
    this.#periodic = new PeriodicSweep(() => this.sweep(), intervalMs, (error) => s.logger.error({ err: (error as Error).message }, 'personal-data purge failed: retrying at the next interval'));
  }

  start(): void {
    this.#periodic.start();
  }

  stop(): void {
    this.#periodic.stop();
  }

  /** Returns the case numbers it purged. */
  sweep(): string[] {
    const db = this.s.store.db;
    const before = this.s.store.clock.now() - this.s.config.policy.purgeAfterHours * 3_600_000;
    const due = db.prepare(`SELECT case_no FROM cases WHERE state IN ('collected','retrieved','cancelled','returned') AND closed_at IS NOT NULL AND closed_at <= ?
      AND (applicant_enc IS NOT NULL OR id_suffix_hash IS NOT NULL OR applicant_masked <> ? OR agent_enc IS NOT NULL OR agent_suffix_hash IS NOT NULL)`).all(before, JSON.stringify(PURGED_APPLICANT)) as { case_no: string }[];
    const purged: string[] = [];
    for (const { case_no: caseNo } of due) {
      const done = this.s.store.change((ctx) => {
        const c = this.s.repos.cases.get(caseNo);
        if (!c || !CLOSED_STATES.has(c.state) || c.closedAt === null || c.closedAt > before) return false;
        db.prepare('UPDATE cases SET applicant_enc = NULL, id_suffix_hash = NULL, applicant_masked = ? WHERE case_no = ?').run(JSON.stringify(PURGED_APPLICANT), caseNo);
        // The agent goes with the applicant: the record that one was named stays, masked to nothing.
        db.prepare('UPDATE cases SET agent_enc = NULL, agent_suffix_hash = NULL, agent_masked = CASE WHEN agent_masked IS NULL THEN NULL ELSE ? END WHERE case_no = ?').run(JSON.stringify(PURGED_AGENT), caseNo);
        const notifications = db.prepare('DELETE FROM notify_outbox WHERE case_no = ?').run(caseNo).changes;
        // The hall system's `case` commands keep their replies (for a repeated requestId): the case in them, masked
        // as it was, is purged too.
        db.prepare(`UPDATE commands SET reply = json_set(reply, '$.result.applicant', json(?)) WHERE name = 'case' AND json_extract(reply, '$.result.caseNo') = ?`)
          .run(JSON.stringify(PURGED_APPLICANT), caseNo);
        db.prepare(`UPDATE commands SET reply = json_set(reply, '$.result.agent', json(?)) WHERE name = 'case' AND json_extract(reply, '$.result.caseNo') = ? AND json_type(reply, '$.result.agent') = 'object'`)
          .run(JSON.stringify(PURGED_AGENT), caseNo);
        const data = { caseNo, state: c.state, closedAt: new Date(c.closedAt).toISOString(), notificationsDeleted: notifications };
        ctx.event('case.purged', data);
        ctx.audit('cabinet', 'case.purged', data);
        return true;
      });
      if (done) purged.push(caseNo);
    }
    // The old page images in the WAL still hold what was purged: copy the pages back and empty the WAL now.
    if (purged.length > 0) {
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
      } catch (error) {
        this.s.logger.warn({ err: (error as Error).message }, 'WAL checkpoint after a purge failed: the next one clears it');
      }
    }
    return purged;
  }
}
