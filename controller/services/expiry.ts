import type { ServiceContext } from './context.ts';
import { PeriodicSweep } from './periodic.ts';

/**
 * Marks ready cases whose credential ran out as overdue, so a clerk takes the items back to the window. Under
 * `policy.whenOverdue: "expire"` the code stops working then (the kiosk answers `expired`); under
 * `"keep-valid"` it keeps opening the doors until a clerk retrieves the items (which revokes it).
 */
export class ExpiryService {
  readonly #periodic: PeriodicSweep;

  constructor(private readonly s: ServiceContext, intervalMs = 60_000) {
    this.#periodic = new PeriodicSweep(() => this.sweep(), intervalMs, (error) => s.logger.error({ err: (error as Error).message }, 'overdue sweep failed: retrying at the next interval'));
  }

  start(): void {
    this.#periodic.start();
  }

  stop(): void {
    this.#periodic.stop();
  }

  /** Returns the case numbers it marked overdue. */
  sweep(): string[] {
    const { cases } = this.s.repos;
    const expired = cases.expiredReady(this.s.store.clock.now());
    for (const c of expired) {
      this.s.store.change((ctx) => {
        const now = cases.get(c.caseNo);
        if (now?.state !== 'ready') return;
        cases.setState(c.caseNo, 'overdue');
        // The credential stays on file so an applicant who comes late is told "expired, go to the window"
        // (or, under keep-valid, still collects with it).
        const codeKeepsWorking = this.s.config.policy.whenOverdue === 'keep-valid';
        ctx.event('case.overdue', { caseNo: c.caseNo, expiredAt: new Date(c.expiresAt!).toISOString(), codeKeepsWorking });
        ctx.audit('cabinet', 'case.overdue', { caseNo: c.caseNo, codeKeepsWorking });
      });
    }
    return expired.map((c) => c.caseNo);
  }
}
