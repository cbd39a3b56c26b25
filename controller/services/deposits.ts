import { randomUUID } from 'node:crypto';
import { fits } from '../domain/allocation.ts';
import { Refusal } from '../domain/refusal.ts';
import type { Collector, CompartmentSize } from '../domain/types.ts';
import type { OutOfServiceCause } from '../events/bus.ts';
import type { OpenRow } from '../store/opens-repo.ts';
import { StorageUnavailableError } from '../store/storage-health.ts';
import type { ChangeContext } from '../store/store.ts';
import { guardRefusal, recordFailedAttempt } from './attempt-guard.ts';
import type { ServiceContext } from './context.ts';
import type { CredentialService } from './credentials.ts';
import type { DoorService, OpenHandlers } from './doors.ts';
import type { IdCardService } from './id-card.ts';
import { whoseId } from './id-match.ts';
import type { SecondFactor } from './pickup.ts';

/** 容缺材料: the applicant (or their agent) brings a document the case still owes, to the kiosk. */
export type DepositRequest = { readonly caseNo: string } & SecondFactor;

/**
 * `invalid` answers a wrong case number and a wrong ID alike (no oracle of case numbers), and counts against
 * the cabinet-wide attempt guard like a wrong pickup code. `no-compartment`: nothing free that takes a document.
 */
export type DepositDenialReason = 'invalid' | 'locked-out' | 'suspended' | 'no-compartment' | 'out-of-service';

export type DepositAnswer =
  | { result: 'opened'; compartment: string }
  | { result: 'denied'; reason: DepositDenialReason; attemptsLeft?: number; retryAfterSeconds?: number; window?: string; cause?: OutOfServiceCause };

export type DepositState = 'opening' | 'received' | 'aborted' | 'retrieving' | 'retrieved';

export interface DepositView {
  id: string;
  caseNo: string;
  compartment: string;
  state: DepositState;
  /** Who put it in: the applicant, the agent the case names, or a department returning something to the window. */
  depositor: Depositor;
  /** The courier or clerk who returned it for a department (null for the applicant's or agent's). */
  depositedBy: string | null;
  createdAt: string;
  receivedAt: string | null;
  retrievedAt: string | null;
  retrievedBy: string | null;
  /** Why a deposit was aborted (the door never opened, nothing was seen inside). */
  reason: string | null;
}

export type Depositor = Collector | 'department';

interface DepositRow {
  id: string; case_no: string; compartment_id: string; state: DepositState; depositor: Depositor; deposited_by: string | null; reason: string | null;
  created_at: number; received_at: number | null; retrieved_at: number | null; retrieved_by: string | null;
}

/** A document (A4, in a folder) needs what the cabinet's "other" item needs: a medium compartment or larger. */
const DOCUMENT = 'other' as const;
const SIZE_ORDER: readonly CompartmentSize[] = ['S', 'M', 'L'];
/** A case no longer waiting for anything from the applicant takes no deposit. */
const NO_DEPOSIT = new Set(['cancelled']);

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Two-way exchange at the kiosk: a document comes in (the case number and the applicant's or agent's ID open
 * the smallest free compartment that takes it), the door shutting is `deposit.received` (with the document
 * seen, where item sensors exist), the clerk station shows it, and a clerk takes it out (`deposit.retrieved`).
 * The compartment stays taken from the moment it opens until the clerk has closed it again.
 */
export class DepositService implements OpenHandlers {
  constructor(
    private readonly s: ServiceContext,
    private readonly doors: DoorService,
    private readonly credentials: CredentialService,
    private readonly idCards: IdCardService,
  ) {
    doors.register('deposit', this);
  }

  deposit(request: DepositRequest): DepositAnswer {
    let answer: DepositAnswer;
    try {
      answer = this.#decide(request);
    } catch (error) {
      if (!(error instanceof StorageUnavailableError)) throw error;
      answer = { result: 'denied', reason: 'out-of-service', window: this.s.config.policy.helpWindow, cause: 'storage-failing' };
    }
    if (answer.result === 'denied') this.s.bus.kiosk.emit({ type: 'denied', reason: answer.reason, retryAfterSeconds: answer.retryAfterSeconds, attemptsLeft: answer.attemptsLeft, window: answer.window, cause: answer.cause });
    return answer;
  }

  #decide(request: DepositRequest): DepositAnswer {
    const window = this.s.config.policy.helpWindow;
    const refused = guardRefusal(this.s);
    if (refused) return { result: 'denied', ...refused };
    if (this.s.board.link !== 'ok') return { result: 'denied', reason: 'out-of-service', window, cause: 'board-offline' };
    // A required camera that is not answering: no door opens for an applicant (the window helps instead).
    const noCamera = this.s.evidence.refusal();
    if (noCamera) return { result: 'denied', reason: 'out-of-service', ...noCamera };
    // The card read is spent now, whatever the outcome (as at a pickup).
    const hash = request.idSuffix !== undefined ? this.credentials.hashIdSuffix(request.idSuffix) : request.idCardReadId !== undefined ? this.idCards.take(request.idCardReadId) : null;
    const c = this.s.repos.cases.get(request.caseNo);
    const depositor = c ? whoseId(hash, c) : null;
    if (!c || depositor === null || NO_DEPOSIT.has(c.state)) {
      const why = !c ? 'deposit: no such case' : depositor === null ? 'deposit: wrong id suffix or card' : `deposit: case is ${c.state}`;
      return { result: 'denied', ...recordFailedAttempt(this.s, { method: 'deposit', channel: 'kiosk', why }) };
    }
    const compartment = this.#freeCompartment();
    if (!compartment) {
      this.s.store.change((ctx) => ctx.event('deposit.refused', { caseNo: c.caseNo, reason: 'no-compartment' }));
      return { result: 'denied', reason: 'no-compartment', window };
    }
    const id = randomUUID();
    this.s.store.change((ctx) => {
      this.s.store.db.prepare(`INSERT INTO deposits (id, case_no, compartment_id, state, depositor, created_at) VALUES (?, ?, ?, 'opening', ?, ?)`).run(id, c.caseNo, compartment, depositor, ctx.now);
      this.s.repos.compartments.setDeposit(compartment, id);
      const openId = this.s.repos.opens.journal(compartment, 'deposit', id, ctx.now);
      ctx.event('deposit.started', { caseNo: c.caseNo, compartment, by: depositor });
      ctx.audit(depositor, 'deposit.started', { caseNo: c.caseNo, compartment, depositId: id });
      ctx.afterCommit(() => void this.doors.pulseAll([openId]));
    });
    return { result: 'opened', compartment };
  }

  /**
   * A department returns something to the window for a case (a corrected licence, a document it kept): a courier
   * or clerk, signed in, names the case; the smallest free compartment that takes a document opens, and the door
   * shutting makes it a deposit the clerk station lists like an applicant's.
   */
  depositForWindow(caseNo: string, actor: string): DepositView {
    if (this.s.board.link !== 'ok') throw new Refusal('unavailable', 'hardware-unavailable', 'the lock board is not connected, so no door can open: check the board cable and try again');
    return this.s.store.change((ctx) => {
      if (!this.s.repos.cases.get(caseNo)) throw new Refusal('not-found', 'unknown-case', `no case ${caseNo}: check the case number`, {}, 'caseNo');
      const compartment = this.#freeCompartment();
      if (!compartment) throw new Refusal('conflict', 'cabinet-full', 'no free compartment takes a document (medium or larger): hand it in at the window', {}, 'caseNo');
      const id = randomUUID();
      this.s.store.db.prepare(`INSERT INTO deposits (id, case_no, compartment_id, state, depositor, deposited_by, created_at) VALUES (?, ?, ?, 'opening', 'department', ?, ?)`).run(id, caseNo, compartment, actor, ctx.now);
      this.s.repos.compartments.setDeposit(compartment, id);
      const openId = this.s.repos.opens.journal(compartment, 'deposit', id, ctx.now);
      ctx.event('deposit.started', { caseNo, compartment, by: 'department', depositedBy: actor });
      ctx.audit(actor, 'deposit.started', { caseNo, compartment, depositId: id });
      ctx.afterCommit(() => void this.doors.pulseAll([openId]));
      return toView(this.#row(id)!);
    });
  }

  /** One deposit as it stands (a courier follows their own this way: they have no event stream). */
  view(id: string): DepositView | undefined {
    const row = this.#row(id);
    return row && toView(row);
  }

  /** The smallest in-service compartment that is empty in every sense and takes a document. */
  #freeCompartment(): string | null {
    const free = this.s.repos.compartments.all().filter((c) => c.service === 'in-service' && c.caseNo === null && c.depositId === null && c.hold === null
      && c.usedVolume === 0 && c.door !== 'open' && !this.s.repos.opens.activeOn(c.id) && fits([DOCUMENT], c.size));
    free.sort((a, b) => SIZE_ORDER.indexOf(a.size) - SIZE_ORDER.indexOf(b.size) || a.id.localeCompare(b.id));
    return free[0]?.id ?? null;
  }

  /** Deposits a clerk has to take out (received, or being taken out), oldest first. */
  waiting(): DepositView[] {
    const rows = this.s.store.db.prepare(`SELECT * FROM deposits WHERE state IN ('received','retrieving') ORDER BY received_at`).all() as DepositRow[];
    return rows.map(toView);
  }

  /** A clerk takes a received deposit out: its door opens; closing it ends the deposit. */
  retrieve(id: string, actor: string): DepositView {
    if (this.s.board.link !== 'ok') throw new Refusal('unavailable', 'hardware-unavailable', 'the lock board is not connected, so no door can open: check the board cable and try again');
    return this.s.store.change((ctx) => {
      const row = this.#row(id);
      if (!row) throw new Refusal('not-found', 'unknown-deposit', `no deposit ${id}: pick it from the list of deposits`, {}, 'id');
      if (row.state !== 'received') throw new Refusal('conflict', 'deposit-not-waiting', `deposit ${id} is ${row.state}: only a received deposit can be taken out`, { state: row.state });
      if (this.s.repos.opens.activeOn(row.compartment_id)) throw new Refusal('conflict', 'door-busy', `compartment ${row.compartment_id} is already being opened: wait until its door is closed`, { compartment: row.compartment_id });
      this.#setState(id, 'retrieving', {});
      const openId = this.s.repos.opens.journal(row.compartment_id, 'deposit', id, ctx.now);
      ctx.audit(actor, 'deposit.retrieve-started', { depositId: id, caseNo: row.case_no, compartment: row.compartment_id });
      this.s.store.db.prepare('UPDATE deposits SET retrieved_by = ? WHERE id = ?').run(actor, id);
      ctx.afterCommit(() => void this.doors.pulseAll([openId]));
      return toView(this.#row(id)!);
    });
  }

  // ---- doors of a deposit ----

  opened(ctx: ChangeContext, open: OpenRow): void {
    const row = this.#row(open.ref);
    if (row?.state === 'opening' && row.depositor !== 'department') ctx.afterCommit(() => this.s.bus.kiosk.emit({ type: 'deposit-opened', compartment: open.compartmentId }));
  }

  closed(ctx: ChangeContext, open: OpenRow): void {
    const row = this.#row(open.ref);
    if (!row) return;
    const data = { caseNo: row.case_no, compartment: row.compartment_id };
    if (row.state === 'opening') {
      // Item sensors that saw nothing as the door shut: nothing went in (without sensors, the door is believed).
      if (open.itemAtClose === false) return this.#abort(ctx, row, 'item-not-detected');
      this.#setState(row.id, 'received', { received_at: ctx.now });
      // The clerk station lists it (GET /deposits) until a clerk takes it out: a task, not an alarm for ops.
      ctx.event('deposit.received', { ...data, depositId: row.id, by: row.depositor, ...(row.deposited_by ? { depositedBy: row.deposited_by } : {}) });
      ctx.audit('cabinet', 'deposit.received', { ...data, depositId: row.id });
      if (row.depositor !== 'department') ctx.afterCommit(() => this.s.bus.kiosk.emit({ type: 'deposit-received', compartment: row.compartment_id }));
    } else if (row.state === 'retrieving') {
      this.#setState(row.id, 'retrieved', { retrieved_at: ctx.now });
      this.s.repos.compartments.setDeposit(row.compartment_id, null);
      ctx.event('deposit.retrieved', { ...data, depositId: row.id, by: row.retrieved_by });
      ctx.audit(row.retrieved_by ?? 'cabinet', 'deposit.retrieved', { ...data, depositId: row.id });
    }
  }

  failed(ctx: ChangeContext, open: OpenRow, reason: string): void {
    const row = this.#row(open.ref);
    if (!row) return;
    if (row.state === 'opening') return this.#abort(ctx, row, reason);
    if (row.state === 'retrieving') {
      // The document is still inside: it waits for the next try.
      this.#setState(row.id, 'received', {});
      ctx.event('deposit.retrieve_failed', { caseNo: row.case_no, compartment: row.compartment_id, depositId: row.id, reason });
    }
  }

  #abort(ctx: ChangeContext, row: DepositRow, reason: string): void {
    this.#setState(row.id, 'aborted', {});
    this.s.store.db.prepare('UPDATE deposits SET reason = ? WHERE id = ?').run(reason, row.id);
    this.s.repos.compartments.setDeposit(row.compartment_id, null);
    ctx.event('deposit.aborted', { caseNo: row.case_no, compartment: row.compartment_id, depositId: row.id, reason });
    ctx.audit('cabinet', 'deposit.aborted', { caseNo: row.case_no, compartment: row.compartment_id, depositId: row.id, reason });
    if (row.depositor !== 'department') ctx.afterCommit(() => this.s.bus.kiosk.emit({ type: 'deposit-aborted', compartment: row.compartment_id, reason }));
  }

  #row(id: string): DepositRow | undefined {
    return this.s.store.db.prepare('SELECT * FROM deposits WHERE id = ?').get(id) as DepositRow | undefined;
  }

  #setState(id: string, state: DepositState, times: { received_at?: number; retrieved_at?: number }): void {
    this.s.store.db.prepare('UPDATE deposits SET state = ?, received_at = coalesce(?, received_at), retrieved_at = coalesce(?, retrieved_at) WHERE id = ?')
      .run(state, times.received_at ?? null, times.retrieved_at ?? null, id);
  }
}

function toView(r: DepositRow): DepositView {
  return {
    id: r.id, caseNo: r.case_no, compartment: r.compartment_id, state: r.state, depositor: r.depositor, depositedBy: r.deposited_by,
    createdAt: iso(r.created_at)!, receivedAt: iso(r.received_at), retrievedAt: iso(r.retrieved_at), retrievedBy: r.retrieved_by, reason: r.reason,
  };
}
