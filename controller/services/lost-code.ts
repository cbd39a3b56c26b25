import type { OutOfServiceCause } from '../events/bus.ts';
import { Keyring } from '../secrets/keyring.ts';
import { StorageUnavailableError } from '../store/storage-health.ts';
import { guardRefusal, recordFailedAttempt } from './attempt-guard.ts';
import type { ServiceContext } from './context.ts';
import type { CredentialService } from './credentials.ts';
import type { IdCardService } from './id-card.ts';
import type { SecondFactor } from './pickup.ts';
import { SlidingWindow } from './sliding-window.ts';

/** "没收到取件码？": the applicant gives the case number and proves who they are as at a pickup. */
export type ResendRequest = { readonly caseNo: string } & SecondFactor;

/**
 * `invalid` answers a wrong case number and a wrong ID suffix (or card) alike, so the kiosk never tells which
 * case numbers exist (no oracle). The others are said only to someone who gave a right pair, except `busy`,
 * `locked-out`, `suspended`, `not-offered` and `out-of-service`, which hold whatever was typed.
 */
export type ResendDenialReason =
  | 'invalid' | 'locked-out' | 'suspended' | 'busy' | 'limit-reached' | 'expired' | 'not-ready' | 'nothing-waiting'
  | 'in-progress' | 'out-of-service' | 'not-offered';

export type ResendAnswer =
  | { result: 'sent'; maskedPhone: string; expiresAt: string }
  | { result: 'denied'; reason: ResendDenialReason; attemptsLeft?: number; retryAfterSeconds?: number; window?: string; cause?: OutOfServiceCause };

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * A lost pickup code sent again at the kiosk. The applicant identifies with the case number and the ID suffix
 * (typed, or an ID card read); a new credential is issued (the old one stops working), with the old one's
 * expiry, and queued for the SMS gateway to the phone on file (`…/notify`, `"kind":"credential"`). Wrong pairs
 * are failed attempts of the cabinet-wide attempt guard, like wrong pickup codes; a right pair does not end a
 * run of failures (it opens no door). Sends are limited per case (`policy.resendsPerCasePerDay` in 24 hours)
 * and for the cabinet (`policy.resendsPerHour`); each send is recorded with the new credential, so both limits
 * hold across a restart (they are read back at the first request); the guard is in the database too.
 */
export class LostCodeService {
  readonly #perCase = new Map<string, SlidingWindow>();
  readonly #cabinet: SlidingWindow;
  readonly #stats = { sent: 0, denied: new Map<ResendDenialReason, number>() };
  #loaded = false;

  constructor(private readonly s: ServiceContext, private readonly credentials: CredentialService, private readonly idCards: IdCardService) {
    this.#cabinet = new SlidingWindow(HOUR_MS, s.config.policy.resendsPerHour);
  }

  /** Whether the kiosk offers "没收到取件码？" at all. */
  get offered(): boolean {
    return this.s.config.policy.resendsPerCasePerDay > 0;
  }

  resend(request: ResendRequest): ResendAnswer {
    let answer: ResendAnswer;
    try {
      answer = this.#decide(request);
    } catch (error) {
      if (!(error instanceof StorageUnavailableError)) throw error;
      answer = { result: 'denied', reason: 'out-of-service', window: this.s.config.policy.helpWindow, cause: 'storage-failing' };
    }
    if (answer.result === 'sent') this.#stats.sent++;
    else this.#stats.denied.set(answer.reason, (this.#stats.denied.get(answer.reason) ?? 0) + 1);
    return answer;
  }

  /** Codes sent again and requests denied (by reason) since start, for /metrics. */
  stats(): { sent: number; denied: Record<string, number> } {
    return { sent: this.#stats.sent, denied: Object.fromEntries(this.#stats.denied) };
  }

  #decide(request: ResendRequest): ResendAnswer {
    const { helpWindow: window } = this.s.config.policy;
    if (!this.offered) return { result: 'denied', reason: 'not-offered', window };
    const refused = guardRefusal(this.s);
    if (refused) return { result: 'denied', ...refused };
    const now = this.s.store.clock.now();
    this.#loadRecentSends(now);
    // The cabinet's hourly allowance is looked at before the pair, so it says nothing about the pair.
    const cabinetWait = this.#cabinet.waitMs(now);
    if (cabinetWait > 0) return { result: 'denied', reason: 'busy', retryAfterSeconds: Math.ceil(cabinetWait / 1000), window };

    // From here the attempt is evaluated: a card read is spent now, whatever the outcome.
    const typed = request.idSuffix !== undefined;
    const given = request.idSuffix !== undefined ? this.credentials.hashIdSuffix(request.idSuffix)
      : request.idCardReadId !== undefined ? this.idCards.take(request.idCardReadId) : null;
    const { cases } = this.s.repos;
    const c = cases.get(request.caseNo);
    if (!c || c.idSuffixHash === null || given === null || !Keyring.sameHash(given, c.idSuffixHash)) {
      const why = !c || c.idSuffixHash === null ? 'no such case' : given === null ? 'id card read unknown, expired or used' : typed ? 'wrong id suffix' : 'id card not the applicant\'s';
      return { result: 'denied', ...recordFailedAttempt(this.s, { method: 'resend', channel: 'kiosk', why }) };
    }

    // The pair is right: what is said now is the applicant's own case.
    if (c.state === 'picking-up') return { result: 'denied', reason: 'in-progress', window };
    if (c.state === 'overdue') return { result: 'denied', reason: 'expired', window };
    if (c.state === 'awaiting-items') return { result: 'denied', reason: 'not-ready' };
    if (c.state !== 'ready' || !c.applicantEnc) return { result: 'denied', reason: 'nothing-waiting', window };
    const perCase = this.#perCase.get(c.caseNo) ?? new SlidingWindow(DAY_MS, this.s.config.policy.resendsPerCasePerDay);
    if (perCase.waitMs(now) > 0) return { result: 'denied', reason: 'limit-reached', window };

    const expiresAt = this.s.store.change((ctx) => {
      const issued = this.credentials.issue(ctx, c.caseNo, { keepExpiry: true });
      ctx.event('credential.reissued', { caseNo: c.caseNo, expiresAt: issued.expiresAt, channel: 'kiosk' });
      this.s.store.db.prepare('DELETE FROM kiosk_resends WHERE at <= ?').run(now - DAY_MS);
      this.s.store.db.prepare('INSERT INTO kiosk_resends (case_no, at) VALUES (?, ?)').run(c.caseNo, now);
      ctx.audit('applicant', 'credential.reissued', { caseNo: c.caseNo, channel: 'kiosk' });
      return issued.expiresAt;
    });
    perCase.add(now);
    this.#remember(c.caseNo, perCase, now);
    this.#cabinet.add(now);
    this.s.logger.info({ caseNo: c.caseNo }, 'lost pickup code sent again at the kiosk');
    return { result: 'sent', maskedPhone: c.applicant.phone, expiresAt };
  }

  /** The sends of the last day as recorded (once: afterwards the counts in memory follow every send). */
  #loadRecentSends(now: number): void {
    if (this.#loaded) return;
    this.#loaded = true;
    const rows = this.s.store.db.prepare('SELECT case_no, at FROM kiosk_resends WHERE at > ? ORDER BY at').all(now - DAY_MS) as { case_no: string; at: number }[];
    for (const { case_no: caseNo, at } of rows) {
      const perCase = this.#perCase.get(caseNo) ?? new SlidingWindow(DAY_MS, this.s.config.policy.resendsPerCasePerDay);
      perCase.add(at);
      this.#perCase.set(caseNo, perCase);
      if (at > now - HOUR_MS) this.#cabinet.add(at);
    }
  }

  /** Keeps the per-case counts small: cases with nothing in the last day are forgotten. */
  #remember(caseNo: string, window: SlidingWindow, now: number): void {
    this.#perCase.set(caseNo, window);
    if (this.#perCase.size <= 1000) return;
    for (const [key, w] of this.#perCase) if (w.count(now) === 0) this.#perCase.delete(key);
  }
}
