import { Refusal } from '../domain/refusal.ts';
import type { OpenRow } from '../store/opens-repo.ts';
import type { ChangeContext } from '../store/store.ts';
import { holdForClerk } from './alarms.ts';
import type { ServiceContext } from './context.ts';
import type { DoorService, OpenHandlers } from './doors.ts';

/** A cancelled or returned case is retrievable until its items are back (then it is closed: `closedAt`). */
const RETRIEVABLE = new Set(['ready', 'overdue', 'awaiting-items', 'picking-up', 'cancelled', 'returned']);
/** States a case keeps once its items are back (what happened to it), closed then. */
const KEPT_STATES = new Set(['cancelled', 'returned']);

/** A clerk takes a case's items back (overdue, cancelled, or a pickup that was interrupted). */
export class RetrievalService implements OpenHandlers {
  constructor(private readonly s: ServiceContext, private readonly doors: DoorService) {
    doors.register('retrieve', this);
  }

  retrieve(caseNo: string, actor: string): { caseNo: string; compartments: string[] } {
    if (this.s.board.link !== 'ok') throw new Refusal('unavailable', 'hardware-unavailable', 'the lock board is not connected, so no door can open: check the board cable and try again');
    const { cases, opens } = this.s.repos;
    const compartments = this.s.store.change((ctx) => {
      const c = cases.get(caseNo);
      if (!c) throw new Refusal('not-found', 'unknown-case', `no case ${caseNo}: check the case number`, {}, 'caseNo');
      if (!RETRIEVABLE.has(c.state) || (KEPT_STATES.has(c.state) && c.closedAt !== null)) throw new Refusal('conflict', 'case-not-retrievable', `case ${caseNo} is ${c.state}: there is nothing to take back`, { state: c.state });
      if (c.state === 'picking-up' && this.s.store.db.prepare(`SELECT 1 FROM pickups WHERE case_no = ? AND state = 'opening'`).get(caseNo)) {
        throw new Refusal('conflict', 'pickup-in-progress', `the applicant of case ${caseNo} is collecting right now: wait until the doors are closed`);
      }
      const items = cases.items(caseNo);
      const loading = items.find((i) => i.state === 'loading');
      if (loading) throw new Refusal('conflict', 'door-busy', `item ${loading.barcode} of case ${caseNo} is being loaded into ${loading.compartmentId}: close that door first`, { compartment: loading.compartmentId });
      const inside = [...new Set(items.filter((i) => i.state === 'loaded').map((i) => i.compartmentId!))].sort();
      for (const id of inside) {
        if (opens.activeOn(id)) throw new Refusal('conflict', 'door-busy', `compartment ${id} is already being opened: wait until its door is closed`, { compartment: id });
      }
      cases.revokeCredentials(caseNo);
      if (inside.length === 0) {
        this.#finish(ctx, caseNo, actor);
        return inside;
      }
      const openIds = inside.map((id) => opens.journal(id, 'retrieve', caseNo, ctx.now));
      ctx.afterCommit(() => void this.doors.pulseAll(openIds));
      ctx.audit(actor, 'case.retrieve-started', { caseNo, compartments: inside });
      return inside;
    });
    return { caseNo, compartments };
  }

  opened(): void {}

  closed(ctx: ChangeContext, open: OpenRow): void {
    this.#settle(ctx, open.ref);
  }

  failed(ctx: ChangeContext, open: OpenRow, reason: string): void {
    ctx.event('case.retrieve_failed', { caseNo: open.ref, compartment: open.compartmentId, reason });
    this.#settle(ctx, open.ref);
  }

  /**
   * Once no door of this retrieval is still moving: every door opened and closed → the case is retrieved;
   * otherwise only the items of the doors that did open are taken back, and the case keeps the rest.
   */
  #settle(ctx: ChangeContext, caseNo: string): void {
    const all = this.s.repos.opens.byRef('retrieve', caseNo).filter((o) => o.journaledAt >= this.#startOf(caseNo));
    if (all.some((o) => o.state === 'journaled' || o.state === 'pulsed' || o.state === 'opened')) return;
    const opened = new Set(all.filter((o) => o.state === 'closed').map((o) => o.compartmentId));
    if (opened.size === all.length) {
      this.#finish(ctx, caseNo, 'cabinet');
      this.#leftBehind(ctx, caseNo, all);
      return;
    }
    const { cases, compartments } = this.s.repos;
    for (const item of cases.items(caseNo)) {
      if (item.state === 'loaded' && item.compartmentId && opened.has(item.compartmentId)) cases.setItem(item.id, 'retrieved', item.compartmentId, ctx.now);
    }
    for (const id of opened) compartments.releaseIfEmpty(id);
    const left = all.filter((o) => !opened.has(o.compartmentId)).map((o) => o.compartmentId);
    ctx.event('case.retrieve_partial', { caseNo, retrievedFrom: [...opened], stillIn: left });
    ctx.audit('cabinet', 'case.retrieve_partial', { caseNo, retrievedFrom: [...opened], stillIn: left });
    this.#leftBehind(ctx, caseNo, all);
  }

  /**
   * A compartment this retrieval emptied whose door closed with something still seen inside (item sensors):
   * an item the clerk forgot, reported like anything else in a compartment that should be empty and held until
   * a clerk clears it.
   */
  #leftBehind(ctx: ChangeContext, caseNo: string, opens: readonly OpenRow[]): void {
    const { compartments } = this.s.repos;
    for (const id of new Set(opens.filter((o) => o.state === 'closed' && o.itemAtClose === true).map((o) => o.compartmentId))) {
      const c = compartments.get(id);
      if (!c || c.caseNo !== null || c.hold !== null) continue;
      const alarmId = holdForClerk(this.s.repos, ctx, id, 'unexpected-item', caseNo, { found: 'door-closed' });
      const data = { compartment: id, found: 'door-closed', caseNo, alarmId };
      ctx.event('compartment.occupied_unexpectedly', data);
      ctx.audit('cabinet', 'compartment.occupied_unexpectedly', data);
    }
  }

  /** Retrievals of one case may repeat (after a partial one): only the latest round's doors count. */
  #startOf(caseNo: string): number {
    const row = this.s.store.db.prepare(`SELECT max(journaled_at) AS t FROM opens WHERE purpose = 'retrieve' AND ref = ?`).get(caseNo) as { t: number | null };
    return row.t ?? 0;
  }

  #finish(ctx: ChangeContext, caseNo: string, actor: string): void {
    const { cases, compartments } = this.s.repos;
    const c = cases.get(caseNo)!;
    if (c.state === 'retrieved' || (KEPT_STATES.has(c.state) && c.closedAt !== null)) return;
    for (const item of cases.items(caseNo)) {
      if (item.state === 'expected' || item.state === 'loading' || item.state === 'loaded') cases.setItem(item.id, 'retrieved', item.compartmentId, ctx.now);
      if (item.compartmentId) compartments.releaseIfEmpty(item.compartmentId);
    }
    // A cancelled or returned case stays so (that is what happened to it), closed now that its items are back.
    cases.setState(caseNo, KEPT_STATES.has(c.state) ? c.state : 'retrieved', { closedAt: ctx.now });
    ctx.event('case.retrieved', { caseNo, from: c.state });
    ctx.audit(actor, 'case.retrieved', { caseNo, from: c.state });
  }
}
