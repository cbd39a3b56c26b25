import type { ServiceContext } from './context.ts';
import { queueNotify } from './notify.ts';
import { PeriodicSweep } from './periodic.ts';

interface ApplicantSecret { phone: string }

/** How many case numbers skipped once are remembered, so a skip is logged and counted once (memory only). */
const SKIPPED_REMEMBERED = 10_000;

/**
 * The reminder before a credential expires (`policy.reminderHoursBefore`): once per case, only while the case
 * still waits to be collected. It goes to the SMS gateway as `…/notify` `"kind":"reminder"` with the expiry and
 * no code (see controller/domain/notify.ts), and to central ops as `credential.reminded` (the case number and
 * the expiry, nothing personal). A case collected, cancelled, returned or retrieved before its reminder time
 * gets none: it is skipped, by its state, in the log (debug) and in /metrics. A reminder still queued when its
 * case stops waiting (the broker was away) is dropped before delivery (`stillWanted`).
 */
export class ReminderService {
  readonly #periodic: PeriodicSweep;
  readonly #skipped = new Set<string>();
  readonly #stats = { sent: 0, skipped: new Map<string, number>() };

  constructor(private readonly s: ServiceContext, intervalMs = 60_000) {
    this.#periodic = new PeriodicSweep(() => this.sweep(), intervalMs, (error) => s.logger.error({ err: (error as Error).message }, 'reminder sweep failed: retrying at the next interval'));
  }

  start(): void {
    if (this.s.config.policy.reminderHoursBefore !== null) this.#periodic.start();
  }

  stop(): void {
    this.#periodic.stop();
  }

  /** Sends the reminders that are due; returns the case numbers reminded. */
  sweep(): string[] {
    const hours = this.s.config.policy.reminderHoursBefore;
    if (hours === null) return [];
    const { cases } = this.s.repos;
    const sent: string[] = [];
    for (const due of cases.remindersDue(this.s.store.clock.now(), Math.round(hours * 3_600_000))) {
      // A pickup under way may yet be interrupted: its case is looked at again next time.
      if (due.state === 'picking-up') continue;
      if (due.state !== 'ready') {
        this.#skip(due.caseNo, due.state, 'reminder skipped');
        continue;
      }
      const reminded = this.s.store.change((ctx) => {
        const c = cases.get(due.caseNo);
        if (c?.state !== 'ready' || c.expiresAt === null) return false;
        const expiresAt = new Date(c.expiresAt).toISOString();
        cases.markReminded(c.caseNo, ctx.now);
        // Purged applicants have no phone; only collected cases are purged, so this is a guard, not a path.
        if (c.applicantEnc) {
          const { phone } = this.s.keyring.decrypt<ApplicantSecret>(c.applicantEnc);
          const { whenOverdue, helpWindow } = this.s.config.policy;
          queueNotify(this.s, ctx.now, { kind: 'reminder', caseNo: c.caseNo, phone, expiresAt, whenOverdue, helpWindow });
        }
        ctx.event('credential.reminded', { caseNo: c.caseNo, expiresAt });
        ctx.audit('cabinet', 'credential.reminded', { caseNo: c.caseNo, expiresAt });
        return true;
      });
      if (reminded) {
        this.#stats.sent++;
        sent.push(due.caseNo);
      }
    }
    return sent;
  }

  /**
   * Asked by the notify drainer before it delivers a queued reminder: a case no longer waiting (collected,
   * cancelled, returned, retrieved, overdue) gets no "your items await" message.
   */
  stillWanted(caseNo: string): boolean {
    const state = this.s.repos.cases.get(caseNo)?.state ?? 'purged';
    if (state === 'ready' || state === 'picking-up') return true;
    this.#skip(caseNo, state, 'queued reminder dropped');
    return false;
  }

  /** Reminders sent and skipped (by the state of the case) since start, for /metrics. */
  stats(): { sent: number; skipped: Record<string, number> } {
    return { sent: this.#stats.sent, skipped: Object.fromEntries(this.#stats.skipped) };
  }

  #skip(caseNo: string, state: string, what: string): void {
    if (this.#skipped.has(caseNo)) return;
    if (this.#skipped.size >= SKIPPED_REMEMBERED) this.#skipped.clear();
    this.#skipped.add(caseNo);
    this.#stats.skipped.set(state, (this.#stats.skipped.get(state) ?? 0) + 1);
    this.s.logger.debug({ caseNo, state }, `${what}: case ${state}`);
  }
}
