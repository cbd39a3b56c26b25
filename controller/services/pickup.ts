import { randomUUID } from 'node:crypto';
import { codeSchemaPattern, qrPattern } from '../domain/credentials.ts';
import { recordSuccess, resume } from '../domain/pickup-guard.ts';
import { itemTypeNames, sensitiveItemTypes, type Collector, type ReturnReason } from '../domain/types.ts';
import type { OutOfServiceCause } from '../events/bus.ts';
import type { OpenRow } from '../store/opens-repo.ts';
import { StorageUnavailableError } from '../store/storage-health.ts';
import type { ChangeContext } from '../store/store.ts';
import { RefusalSummaries } from '../events/refusal-summaries.ts';
import { holdForClerk, raiseAlarm } from './alarms.ts';
import { guardRefusal, recordFailedAttempt } from './attempt-guard.ts';
import type { ServiceContext } from './context.ts';
import type { CredentialService } from './credentials.ts';
import type { DoorService, OpenHandlers } from './doors.ts';
import type { IdCardService } from './id-card.ts';
import { whoseId } from './id-match.ts';

/**
 * The second factor, at most one of them: the ID suffix typed on the kiosk, or a card read (`readId` of the
 * kiosk stream's `id-card`), which stands in for the suffix once.
 */
export type SecondFactor = { readonly idSuffix?: string; readonly idCardReadId?: string };

export type PickupRequest =
  | ({ readonly code: string } & SecondFactor)
  | ({ readonly qr: string } & SecondFactor)
  /** The kiosk completes a scanned QR that asked for the ID suffix. */
  | ({ readonly scanId: string } & SecondFactor);

export type PickupAnswer =
  | { result: 'opened'; compartments: string[]; caseNo: string; items: { type: string; label: string | null; name: string }[] }
  | { result: 'need-id'; scanId?: string }
  | { result: 'denied'; reason: DenialReason; retryAfterSeconds?: number; attemptsLeft?: number; window?: string; cause?: OutOfServiceCause };

/**
 * `invalid` covers every wrong credential and wrong ID suffix alike, so the answer never tells a guesser
 * which part was right (no oracle).
 */
export type DenialReason = 'invalid' | 'locked-out' | 'suspended' | 'expired' | 'out-of-service' | 'unrecognised' | 'in-progress';

export type ReturnAnswer =
  | { readonly result: 'accepted'; readonly compartments: string[] }
  | { readonly result: 'denied'; readonly reason: 'not-in-progress'; readonly window: string };

interface PickupRow { id: string; case_no: string; credential_id: number; state: string; collected_by: Collector | null; return_reasons: string | null }

const PENDING_SCAN_MS = 120_000;

export class PickupService implements OpenHandlers {
  /** Scanned QR codes waiting for the ID suffix, by a random id only the kiosk learns. Memory only, 2 min. */
  readonly #pendingScans = new Map<string, { qr: string; until: number }>();

  /**
   * Scans that are no pickup QR (a shop barcode, a misconfigured scanner) are reported to ops as
   * `pickup.denied` with reason `unrecognised` and nothing of the text: the first of a quiet spell at once, then
   * one a minute with a count, so a scanner gone wild cannot grow the database.
   */
  readonly #unrecognised: RefusalSummaries;

  constructor(private readonly s: ServiceContext, private readonly doors: DoorService, private readonly credentials: CredentialService, private readonly idCards: IdCardService) {
    doors.register('pickup', this);
    this.#unrecognised = new RefusalSummaries({
      intervalMs: 60_000,
      now: () => this.s.store.clock.now(),
      write: ({ count, since, until }) => this.s.store.change((ctx) => ctx.event('pickup.denied', { method: 'qr', channel: 'scanner', reason: 'unrecognised', count, since, until })),
      onWriteError: (error) => this.s.logger.warn({ err: (error as Error).message }, 'unrecognised scans not recorded (storage failing)'),
    });
  }

  /** Writes the unrecognised scans still being counted. */
  stop(): void {
    this.#unrecognised.stop();
  }

  /** A line from the cabinet's scanner. */
  scan(line: string): PickupAnswer {
    if (!qrPattern.test(line)) {
      this.#unrecognised.refuse({ name: 'scan', error: 'unrecognised', requestId: null });
      this.s.bus.kiosk.emit({ type: 'scan', kind: 'unknown', masked: `${line.length} characters` });
      const answer: PickupAnswer = { result: 'denied', reason: 'unrecognised' };
      this.s.bus.kiosk.emit({ type: 'denied', reason: answer.reason });
      return answer;
    }
    this.s.bus.kiosk.emit({ type: 'scan', kind: 'pickup-qr', masked: `${line.slice(0, 7)}…` });
    return this.pickup({ qr: line }, 'scanner');
  }

  pickup(request: PickupRequest, channel: 'kiosk' | 'scanner'): PickupAnswer {
    const answer = this.#decideOrOutOfService(request, channel);
    if (answer.result === 'denied') this.s.bus.kiosk.emit({ type: 'denied', reason: answer.reason, retryAfterSeconds: answer.retryAfterSeconds, attemptsLeft: answer.attemptsLeft, window: answer.window, cause: answer.cause });
    return answer;
  }

  /** A database that cannot be written opens nothing: the applicant is sent to the window. */
  #decideOrOutOfService(request: PickupRequest, channel: 'kiosk' | 'scanner'): PickupAnswer {
    try {
      return this.#decide(request, channel);
    } catch (error) {
      if (!(error instanceof StorageUnavailableError)) throw error;
      return { result: 'denied', reason: 'out-of-service', window: this.s.config.policy.helpWindow, cause: 'storage-failing' };
    }
  }

  /** A clerk re-enables code entry after the daily ceiling stopped it. */
  resumeCodeEntry(actor: string): void {
    this.s.store.change((ctx) => {
      this.s.repos.guard.put(resume(this.s.repos.guard.get(), ctx.now));
      ctx.event('pickup.resumed', { by: actor });
      ctx.audit(actor, 'pickup.resumed', {});
    });
  }

  guardStatus(): { lockedUntil: string | null; suspended: boolean; consecutiveFailures: number; failuresToday: number } {
    const g = this.s.repos.guard.get();
    return { lockedUntil: g.lockedUntil > this.s.store.clock.now() ? new Date(g.lockedUntil).toISOString() : null, suspended: g.suspended, consecutiveFailures: g.consecutiveFailures, failuresToday: g.dayFailures };
  }

  #decide(request: PickupRequest, channel: 'kiosk' | 'scanner'): PickupAnswer {
    const now = this.s.store.clock.now();
    const refused = guardRefusal(this.s);
    if (refused) return { result: 'denied', ...refused };
    if (this.s.board.link !== 'ok') return { result: 'denied', reason: 'out-of-service', window: this.s.config.policy.helpWindow, cause: 'board-offline' };
    const noCamera = this.s.evidence.refusal(); if (noCamera) return { result: 'denied', reason: 'out-of-service', ...noCamera };

    // A scan still waiting for its second factor waits on (the route never sends this; a caller in-process might).
    if ('scanId' in request && request.idSuffix === undefined && request.idCardReadId === undefined) return { result: 'need-id', scanId: request.scanId };
    // The attempt is evaluated from here on: a card read is spent now, whatever the outcome.
    const factor = this.#secondFactor(request);

    let form: 'code' | 'qr';
    let secret: string;
    if ('scanId' in request) {
      const pending = this.#pendingScans.get(request.scanId);
      this.#pendingScans.delete(request.scanId);
      if (!pending || pending.until < now) return this.#fail('qr', 'the scan expired or is unknown', channel);
      form = 'qr';
      secret = pending.qr;
    } else if ('code' in request) {
      form = 'code';
      secret = request.code;
      // The code always needs the ID suffix: ask for it before looking anything up, so "need-id" says nothing.
      if (factor === undefined) return { result: 'need-id' };
      if (!codeSchemaPattern.test(secret)) return this.#fail(form, 'malformed code', channel);
    } else {
      form = 'qr';
      secret = request.qr;
      if (!qrPattern.test(secret)) return this.#fail(form, 'malformed qr', channel);
    }

    const { cases } = this.s.repos;
    const hash = form === 'code' ? this.credentials.hashCode(secret) : this.credentials.hashQr(secret);
    // A credential spent moments ago by this same pickup (a double tap, a second scan while the doors are
    // open) is still the applicant's own: it answers `in-progress` and never counts as a failure.
    const credential = cases.activeCredentialByHash(form, hash) ?? cases.spentCredentialInPickup(form, hash);
    if (!credential) return this.#fail(form, 'no such credential', channel);
    const c = cases.get(credential.caseNo)!;
    // The 144-bit QR cannot be guessed, so a second scan of a spent one needs no ID suffix to be told to wait.
    if (credential.state === 'spent' && form === 'qr') return { result: 'denied', reason: 'in-progress', window: this.s.config.policy.helpWindow };
    const items = cases.items(c.caseNo).filter((i) => i.state === 'loaded');
    const needsId = form === 'code' || this.s.config.policy.qrNeedsIdSuffix === 'always' || items.some((i) => sensitiveItemTypes.has(i.type));
    if (needsId && factor === undefined) {
      // Only a holder of the 144-bit QR gets here, so asking reveals nothing guessable.
      const scanId = randomUUID();
      this.#pendingScans.set(scanId, { qr: secret, until: now + PENDING_SCAN_MS });
      this.#prunePending(now);
      this.s.bus.kiosk.emit({ type: 'need-id', scanId, expiresInSeconds: PENDING_SCAN_MS / 1000 });
      return { result: 'need-id', scanId };
    }
    // The applicant's ID or that of the agent (代办人) the case names; whose it was is recorded with the pickup.
    const collector = factor === undefined ? null : whoseId(factor.hash, c);
    if (needsId && collector === null) {
      // Someone else's card, or a read unknown, expired or used: a failed attempt like a wrong suffix, same answer.
      return this.#fail(form, factor!.kind === 'typed' ? 'wrong id suffix' : factor!.hash === null ? 'id card read unknown, expired or used' : 'id card not the applicant\'s', channel);
    }
    if (credential.state === 'spent') return { result: 'denied', reason: 'in-progress', window: this.s.config.policy.helpWindow };
    // `whenOverdue: "keep-valid"`: the code keeps working past its expiry, overdue or not, until a clerk takes
    // the items back (a retrieval revokes it).
    const keepValid = this.s.config.policy.whenOverdue === 'keep-valid';
    if (!keepValid && (credential.expiresAt <= now || c.state === 'overdue')) {
      return { result: 'denied', reason: 'expired', window: this.s.config.policy.helpWindow };
    }
    if (c.state === 'picking-up') return { result: 'denied', reason: 'in-progress', window: this.s.config.policy.helpWindow };
    if (c.state !== 'ready' && c.state !== 'overdue') return this.#fail(form, `case is ${c.state}`, channel);

    const compartmentIds = [...new Set(items.map((i) => i.compartmentId!))].sort();
    // A compartment out of service or already opening for someone else is not opened: the window helps.
    const blocked = compartmentIds.filter((id) => this.s.repos.compartments.get(id)?.service !== 'in-service' || this.s.repos.opens.activeOn(id));
    if (blocked.length > 0) return { result: 'denied', reason: 'out-of-service', window: this.s.config.policy.helpWindow, cause: 'compartment-unavailable' };
    const pickupId = randomUUID();
    this.s.store.change((ctx) => {
      this.s.repos.guard.put(recordSuccess(this.s.repos.guard.get()));
      this.s.store.db.prepare(`INSERT INTO pickups (id, case_no, credential_id, method, state, started_at, collected_by) VALUES (?, ?, ?, ?, 'opening', ?, ?)`).run(pickupId, c.caseNo, credential.id, form, ctx.now, collector);
      cases.setState(c.caseNo, 'picking-up');
      const ids = compartmentIds.map((id) => this.s.repos.opens.journal(id, 'pickup', pickupId, ctx.now));
      const by = collector === 'agent' ? { by: 'agent' } : {};
      ctx.event('pickup.started', { caseNo: c.caseNo, method: form, channel, compartments: compartmentIds, ...by });
      ctx.audit(collector ?? 'applicant', 'pickup.started', { caseNo: c.caseNo, method: form, channel, compartments: compartmentIds, ...by });
      ctx.afterCommit(() => void this.doors.pulseAll(ids));
    });
    const itemList = items.map((i) => ({ type: i.type, label: i.label, name: i.label ?? itemTypeNames[i.type].zh }));
    this.s.bus.kiosk.emit({ type: 'opening', compartments: compartmentIds, caseNo: c.caseNo, items: items.map((i) => ({ type: i.type, label: i.label })) });
    return { result: 'opened', compartments: compartmentIds, caseNo: c.caseNo, items: itemList };
  }

  /** The keyed hash of the second factor given (`null`: a card read that is unknown, expired or used), or none. */
  #secondFactor(request: SecondFactor): { kind: 'typed' | 'card'; hash: string | null } | undefined {
    if (request.idSuffix !== undefined) return { kind: 'typed', hash: this.credentials.hashIdSuffix(request.idSuffix) };
    if (request.idCardReadId !== undefined) return { kind: 'card', hash: this.idCards.take(request.idCardReadId) };
    return undefined;
  }

  #fail(form: 'code' | 'qr', why: string, channel: 'kiosk' | 'scanner'): PickupAnswer {
    return { result: 'denied', ...recordFailedAttempt(this.s, { method: form, channel, why }) };
  }

  #prunePending(now: number): void {
    for (const [id, p] of this.#pendingScans) if (p.until < now) this.#pendingScans.delete(id);
  }

  // ---- doors of a pickup ----

  opened(ctx: ChangeContext, open: OpenRow): void {
    const pickup = this.#pickup(open.ref);
    if (!pickup) return;
    // The credential is spent once a door is seen open.
    if (this.s.repos.cases.spendCredential(pickup.credential_id, ctx.now)) ctx.audit('cabinet', 'credential.spent', { caseNo: pickup.case_no });
    ctx.afterCommit(() => this.s.bus.kiosk.emit({ type: 'door-opened', compartment: open.compartmentId }));
  }

  closed(ctx: ChangeContext, open: OpenRow): void {
    this.#settle(ctx, open.ref);
  }

  failed(ctx: ChangeContext, open: OpenRow, reason: string): void {
    const pickup = this.#pickup(open.ref);
    if (!pickup) return;
    if (reason === 'jammed' || reason === 'hardware-unavailable') {
      const cause: OutOfServiceCause = reason === 'jammed' ? 'jammed' : 'board-offline';
      ctx.afterCommit(() => this.s.bus.kiosk.emit({ type: 'denied', reason: 'out-of-service', window: this.s.config.policy.helpWindow, cause }));
    }
    this.#settle(ctx, open.ref);
  }

  /**
   * When no door of the pickup is still in progress: completed if every door opened and closed, else
   * interrupted. A completed pickup whose door closed with an item still seen inside (item sensors) is
   * collected all the same (the credential is spent, the applicant has gone), and each such compartment is
   * `pickup.incomplete`, with an `item-left` alarm, and held for a clerk: no new load goes there until cleared.
   */
  #settle(ctx: ChangeContext, pickupId: string): void {
    const pickup = this.#pickup(pickupId);
    if (!pickup || pickup.state !== 'opening') return;
    const opens = this.s.repos.opens.byRef('pickup', pickupId);
    if (opens.some((o) => o.state === 'journaled' || o.state === 'pulsed' || o.state === 'opened')) return;
    const { cases, compartments } = this.s.repos;
    if (opens.every((o) => o.state === 'closed') && pickup.return_reasons !== null) {
      this.#returned(ctx, pickup, opens);
    } else if (opens.every((o) => o.state === 'closed')) {
      this.s.store.db.prepare(`UPDATE pickups SET state = 'completed', ended_at = ? WHERE id = ?`).run(ctx.now, pickupId);
      for (const item of cases.items(pickup.case_no)) if (item.state === 'loaded') cases.setItem(item.id, 'collected', item.compartmentId, ctx.now);
      for (const o of opens) compartments.releaseIfEmpty(o.compartmentId);
      cases.setState(pickup.case_no, 'collected', { closedAt: ctx.now });
      const left = [...new Set(opens.filter((o) => o.itemAtClose === true).map((o) => o.compartmentId))];
      const by = pickup.collected_by ? { collectedBy: pickup.collected_by } : {};
      ctx.event('pickup.completed', { caseNo: pickup.case_no, compartments: opens.map((o) => o.compartmentId), ...by, ...(left.length > 0 ? { leftBehind: left } : {}) });
      ctx.audit('cabinet', 'pickup.completed', { caseNo: pickup.case_no, ...by });
      for (const compartment of left) {
        const alarmId = holdForClerk(this.s.repos, ctx, compartment, 'item-left', pickup.case_no);
        ctx.event('pickup.incomplete', { caseNo: pickup.case_no, compartment, alarmId });
        ctx.audit('cabinet', 'pickup.incomplete', { caseNo: pickup.case_no, compartment, alarmId });
      }
      ctx.afterCommit(() => this.s.bus.kiosk.emit({ type: 'collected', caseNo: pickup.case_no }));
    } else {
      this.s.store.db.prepare(`UPDATE pickups SET state = 'interrupted', ended_at = ? WHERE id = ?`).run(ctx.now, pickupId);
      const detail = opens.map((o) => ({ compartment: o.compartmentId, journal: o.state }));
      // No door of it was ever seen open and nothing may have fired: the applicant may simply try again later.
      const nothingOpened = opens.every((o) => o.state === 'failed');
      if (nothingOpened) cases.setState(pickup.case_no, this.#waitingState(pickup.case_no, ctx.now));
      ctx.event('pickup.interrupted', { caseNo: pickup.case_no, doors: detail, action: 'a clerk verifies the compartments and retrieves or hands over the items' });
      ctx.audit('cabinet', 'pickup.interrupted', { caseNo: pickup.case_no, doors: detail });
    }
  }

  /**
   * Every door shut after the applicant sent the items back: the items stay where they are (bound to the case),
   * the case is `returned` with the reasons and waits for a clerk, who is alerted and retrieves it like an
   * overdue case. A compartment whose item sensor saw nothing as its door shut is named: the item may not be back.
   */
  #returned(ctx: ChangeContext, pickup: PickupRow, opens: readonly OpenRow[]): void {
    const reasons = JSON.parse(pickup.return_reasons!) as ReturnReason[];
    const compartments = [...new Set(opens.map((o) => o.compartmentId))].sort();
    const notSeenBack = [...new Set(opens.filter((o) => o.itemAtClose === false).map((o) => o.compartmentId))].sort();
    this.s.store.db.prepare(`UPDATE pickups SET state = 'completed', ended_at = ? WHERE id = ?`).run(ctx.now, pickup.id);
    this.s.repos.cases.setState(pickup.case_no, 'returned');
    this.s.repos.cases.setReturnReasons(pickup.case_no, reasons);
    const data = { caseNo: pickup.case_no, reasons, compartments, ...(pickup.collected_by ? { by: pickup.collected_by } : {}), ...(notSeenBack.length > 0 ? { notSeenBack } : {}) };
    const alarmId = raiseAlarm(this.s.repos.alarms, ctx, 'case-returned', null, data);
    ctx.event('case.returned', { ...data, alarmId });
    ctx.audit('cabinet', 'case.returned', { ...data, alarmId });
    ctx.afterCommit(() => this.s.bus.kiosk.emit({ type: 'returned', caseNo: pickup.case_no }));
  }

  /**
   * What a case goes back to when its pickup opened nothing: ready, or, under `whenOverdue: "keep-valid"` (the
   * only policy that lets a pickup start past the expiry), overdue once its credential has run out, so the
   * clerks' overdue list keeps it without the sweep reporting it a second time.
   */
  #waitingState(caseNo: string, now: number): 'ready' | 'overdue' {
    const expiresAt = this.s.repos.cases.get(caseNo)?.expiresAt ?? null;
    return this.s.config.policy.whenOverdue === 'keep-valid' && expiresAt !== null && expiresAt <= now ? 'overdue' : 'ready';
  }

  #pickup(id: string): PickupRow | undefined {
    return this.s.store.db.prepare('SELECT id, case_no, credential_id, state, collected_by, return_reasons FROM pickups WHERE id = ?').get(id) as PickupRow | undefined;
  }

  // ---- sending items back at the doors (材料有误，退回窗口) ----

  /**
   * While the case's doors are open at pickup, the applicant says an item is wrong or damaged: the pickup will
   * end as `returned` (items back inside, the case waiting for a clerk) once every door is shut. Asking again
   * replaces the reasons. Only the case being collected right now, so nothing is learnt from a guessed number.
   */
  requestReturn(caseNo: string, reasons: readonly ReturnReason[]): ReturnAnswer {
    return this.s.store.change((ctx) => {
      const pickup = this.s.store.db.prepare(`SELECT id, case_no, credential_id, state, collected_by, return_reasons FROM pickups WHERE case_no = ? AND state = 'opening'`).get(caseNo) as PickupRow | undefined;
      if (!pickup) return { result: 'denied', reason: 'not-in-progress', window: this.s.config.policy.helpWindow } as const;
      const unique = [...new Set(reasons)];
      this.s.store.db.prepare('UPDATE pickups SET return_reasons = ? WHERE id = ?').run(JSON.stringify(unique), pickup.id);
      const compartments = [...new Set(this.s.repos.opens.byRef('pickup', pickup.id).map((o) => o.compartmentId))].sort();
      ctx.event('pickup.return_requested', { caseNo, reasons: unique, compartments });
      ctx.audit(pickup.collected_by ?? 'applicant', 'pickup.return_requested', { caseNo, reasons: unique });
      ctx.afterCommit(() => this.s.bus.kiosk.emit({ type: 'return-requested', caseNo, compartments }));
      return { result: 'accepted', compartments } as const;
    });
  }
}
