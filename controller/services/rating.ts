import { ratingLevelNames, type RatingLevel, type RatingReason } from '../domain/rating.ts';
import { Refusal } from '../domain/refusal.ts';
import type { ServiceContext } from './context.ts';

export interface RatingInput {
  readonly caseNo: string;
  readonly level: RatingLevel;
  readonly reasons?: readonly RatingReason[];
}

export interface RatingReceipt {
  readonly caseNo: string;
  readonly level: RatingLevel;
  readonly levelName: string;
  readonly seq: number;
}

/** How long after a pickup at this cabinet (its start or its end) the applicant may still rate it here. */
export const RATING_WINDOW_MS = 15 * 60_000;

/**
 * The 好差评 rating the applicant gives at the kiosk after a pickup: once per case, only for a case whose
 * credential was just checked at this cabinet, published as `rating.submitted` through the outbox.
 */
export class RatingService {
  constructor(private readonly s: ServiceContext) {}

  rate(input: RatingInput, channel: 'kiosk'): RatingReceipt {
    const { db } = this.s.store;
    return this.s.store.change((ctx) => {
      // An unknown case and a case not picked up here just now get the same answer: no oracle on case numbers.
      const recent = db.prepare('SELECT 1 FROM pickups WHERE case_no = ? AND coalesce(ended_at, started_at) >= ? LIMIT 1').get(input.caseNo, ctx.now - RATING_WINDOW_MS);
      if (!recent) {
        throw new Refusal('conflict', 'not-rateable', `case ${input.caseNo} cannot be rated at this cabinet: the kiosk takes a rating within ${RATING_WINDOW_MS / 60_000} minutes of a pickup here; rate it at the window instead`, {}, 'caseNo');
      }
      if (db.prepare('SELECT 1 FROM ratings WHERE case_no = ?').get(input.caseNo)) {
        throw new Refusal('conflict', 'already-rated', `case ${input.caseNo} has already been rated: each case is rated once`, {}, 'caseNo');
      }
      const reasons = [...new Set(input.reasons ?? [])];
      db.prepare('INSERT INTO ratings (case_no, level, reasons, channel, submitted_at) VALUES (?, ?, ?, ?, ?)').run(input.caseNo, input.level, JSON.stringify(reasons), channel, ctx.now);
      const levelName = ratingLevelNames[input.level].zh;
      const event = ctx.event('rating.submitted', { caseNo: input.caseNo, level: input.level, levelName, reasons, channel });
      ctx.audit('applicant', 'rating.submitted', { caseNo: input.caseNo, level: input.level, reasons });
      return { caseNo: input.caseNo, level: input.level, levelName, seq: event.seq };
    });
  }
}
