import { randomUUID } from 'node:crypto';
import { allocate } from '../domain/allocation.ts';
import { Refusal } from '../domain/refusal.ts';
import { itemTypeNames, type ItemType } from '../domain/types.ts';
import type { OpenRow } from '../store/opens-repo.ts';
import type { ChangeContext } from '../store/store.ts';
import type { ServiceContext } from './context.ts';
import type { CredentialService } from './credentials.ts';
import type { DoorService, OpenHandlers } from './doors.ts';

export interface LoadStarted {
  loadId: string;
  caseNo: string;
  itemId: number;
  compartment: string;
}

/** A courier loads only the item types of their department (`govlocker users add … --items`). */
export interface CourierScope {
  readonly name: string;
  readonly itemTypes: readonly ItemType[];
}

/** Refusals of a courier's scan that the clerk hears of (the clerk station's loading alerts): `load.refused`. */
const ALERTED_REFUSALS: ReadonlySet<string> = new Set(['unknown-barcode', 'cabinet-full', 'not-your-item-type', 'case-not-loading']);

/**
 * A clerk (or a department's courier) scans an item: the cabinet picks its compartment, opens the door, and
 * the item counts as in once the door has closed again. Items scanned while their case's door is already open
 * join that opening. Where the board has item sensors, the door must close with something seen inside: closed
 * empty, the load is aborted (`item-not-detected`) and the item is expected again. A courier loads only their
 * department's item types; their refused scans and aborted loads are the clerk's loading alerts.
 */
export class LoadingService implements OpenHandlers {
  constructor(private readonly s: ServiceContext, private readonly doors: DoorService, private readonly credentials: CredentialService) {
    doors.register('load', this);
  }

  start(barcode: string, actor: string, courier?: CourierScope): LoadStarted {
    if (this.s.board.link !== 'ok') {
      throw new Refusal('unavailable', 'hardware-unavailable', 'the cabinet\'s lock board is not connected, so no door can open: check the board cable; loading resumes by itself when it is back');
    }
    try {
      return this.#start(barcode, actor, courier);
    } catch (error) {
      if (courier && error instanceof Refusal && ALERTED_REFUSALS.has(error.code)) this.#reportRefused(barcode, actor, error);
      throw error;
    }
  }

  #start(barcode: string, actor: string, courier: CourierScope | undefined): LoadStarted {
    const { cases, compartments, opens, loads } = this.s.repos;
    const started = this.s.store.change((ctx): LoadStarted => {
      const item = cases.liveItemByBarcode(barcode);
      if (!item) throw new Refusal('not-found', 'unknown-barcode', `no case is waiting for an item with barcode ${barcode}: check the label, or create the case first`, { barcode }, 'barcode');
      if (courier && !courier.itemTypes.includes(item.type)) throw this.#notTheirs(courier, barcode, item.type);
      if (item.state === 'loaded') throw new Refusal('conflict', 'already-loaded', `item ${barcode} is already in compartment ${item.compartmentId}`, { compartment: item.compartmentId }, 'barcode');
      const c = cases.get(item.caseNo)!;
      if (item.state === 'loading') {
        const existing = this.s.store.db.prepare(`SELECT id FROM loads WHERE item_id = ? AND state = 'open'`).get(item.id) as { id: string } | undefined;
        if (existing) return { loadId: existing.id, caseNo: c.caseNo, itemId: item.id, compartment: item.compartmentId! };
      }
      if (c.state !== 'awaiting-items') throw new Refusal('conflict', 'case-not-loading', `case ${c.caseNo} is ${c.state}, not awaiting items`, { state: c.state }, 'barcode');

      const all = compartments.all();
      const candidates = all.map((comp) => {
        const active = opens.activeOn(comp.id);
        const joinable = !active || (active.purpose === 'load' && comp.caseNo === c.caseNo);
        return { id: comp.id, size: comp.size, usedVolume: comp.usedVolume, caseNo: comp.caseNo, available: comp.service === 'in-service' && joinable, held: comp.hold !== null || comp.depositId !== null };
      });
      const stillToCome = cases.items(c.caseNo).filter((i) => i.state === 'expected' && i.id !== item.id).map((i) => i.type);
      const allocation = allocate(item.type, stillToCome, c.caseNo, candidates);
      if (!allocation.ok) {
        throw new Refusal('conflict', 'cabinet-full', `no free compartment of size ${allocation.neededSize} or larger for ${barcode}: collect or retrieve a case, or enable a disabled compartment`, { neededSize: allocation.neededSize }, 'barcode');
      }
      const compartmentId = allocation.compartmentId;
      const active = opens.activeOn(compartmentId);
      let openId: number;
      if (active) {
        openId = active.id; // the clerk is already at this open door: no second pulse
      } else {
        const journaled = opens.journal(compartmentId, 'load', c.caseNo, ctx.now);
        openId = journaled;
        ctx.afterCommit(() => void this.doors.pulseAll([journaled]));
      }
      compartments.bind(compartmentId, c.caseNo);
      cases.setItem(item.id, 'loading', compartmentId, ctx.now);
      const loadId = randomUUID();
      loads.insert({ id: loadId, itemId: item.id, caseNo: c.caseNo, compartmentId, openId, actor, now: ctx.now });
      ctx.event('load.started', { loadId, caseNo: c.caseNo, itemId: item.id, type: item.type, compartment: compartmentId });
      ctx.audit(actor, 'load.started', { loadId, caseNo: c.caseNo, barcode, compartment: compartmentId });
      return { loadId, caseNo: c.caseNo, itemId: item.id, compartment: compartmentId };
    });
    return started;
  }

  /** How a load went; `actor` given (a courier), only that person's own loads are found. */
  state(loadId: string, actor?: string): { loadId: string; state: string; caseNo: string; compartment: string; reason: string | null } | undefined {
    const l = this.s.repos.loads.get(loadId);
    if (!l || (actor !== undefined && l.actor !== actor)) return undefined;
    return { loadId: l.id, state: l.state, caseNo: l.caseNo, compartment: l.compartmentId, reason: l.reason };
  }

  /**
   * The loading exceptions of couriers in the last `hours` (their refused scans and aborted loads), newest
   * first: what the clerk deals with when departments load directly.
   */
  alerts(hours = 24, limit = 50): { seq: number; ts: string; type: string; data: Record<string, unknown> }[] {
    const since = this.s.store.clock.now() - hours * 3_600_000;
    return this.s.store.outbox.recentOfTypes(['load.refused', 'load.aborted'], since, 500)
      .filter((e) => typeof e.data.by === 'string' && e.data.by.startsWith('courier:'))
      .slice(0, limit)
      .map(({ seq, ts, type, data }) => ({ seq, ts, type, data }));
  }

  /** 403 naming the item type and who may load it: clerks, and the couriers whose department brings it. */
  #notTheirs(courier: CourierScope, barcode: string, type: ItemType): Refusal {
    const others = this.s.repos.users.couriersFor(type);
    const name = `${itemTypeNames[type].zh} ${type}`;
    return new Refusal('forbidden', 'not-your-item-type',
      `item ${barcode} is a ${name}: ${courier.name} may load ${courier.itemTypes.join(', ')} only; a ${type} is loaded by a clerk${others.length > 0 ? ` or by the courier${others.length > 1 ? 's' : ''} ${others.join(', ')}` : ''}`,
      { itemType: type, mayLoad: courier.itemTypes, loadedBy: ['clerk', ...others.map((n) => `courier:${n}`)] }, 'barcode');
  }

  /** A courier's scan refused: written on its own (the refused change wrote nothing), so the clerk is told. */
  #reportRefused(barcode: string, actor: string, refusal: Refusal): void {
    try {
      this.s.store.change((ctx) => {
        const data = { barcode, reason: refusal.code, by: actor, ...(refusal.details.itemType ? { itemType: refusal.details.itemType } : {}), ...(refusal.details.neededSize ? { neededSize: refusal.details.neededSize } : {}) };
        ctx.event('load.refused', data);
        ctx.audit(actor, 'load.refused', data);
      });
    } catch (error) {
      this.s.logger.warn({ err: (error as Error).message, reason: refusal.code }, 'a courier\'s refused load could not be recorded');
    }
  }

  opened(): void {}

  closed(ctx: ChangeContext, open: OpenRow): void {
    // The item sensor saw nothing as the door closed: nothing went in (one bit per compartment, so items of the
    // case already inside count as seen).
    if (open.itemAtClose === false) {
      this.#abort(ctx, open, 'item-not-detected');
      return;
    }
    const { cases, loads } = this.s.repos;
    const touched = new Set<string>();
    for (const load of loads.openOf(open.id)) {
      loads.end(load.id, 'committed', null, ctx.now);
      cases.setItem(load.itemId, 'loaded', load.compartmentId, ctx.now);
      const item = cases.item(load.itemId)!;
      ctx.event('item.loaded', { loadId: load.id, caseNo: load.caseNo, itemId: item.id, type: item.type, label: item.label, compartment: load.compartmentId });
      ctx.audit('cabinet', 'item.loaded', { loadId: load.id, caseNo: load.caseNo, barcode: item.barcode, compartment: load.compartmentId });
      touched.add(load.caseNo);
    }
    for (const caseNo of touched) {
      const items = cases.items(caseNo);
      if (cases.get(caseNo)!.state === 'awaiting-items' && items.every((i) => i.state === 'loaded')) {
        const issued = this.credentials.issue(ctx, caseNo);
        const compartments = [...new Set(items.map((i) => i.compartmentId!))].sort();
        ctx.event('case.ready', { caseNo, compartments, expiresAt: issued.expiresAt });
      }
    }
  }

  failed(ctx: ChangeContext, open: OpenRow, reason: string): void {
    this.#abort(ctx, open, reason);
  }

  /** Every load of the open ends `aborted` with the reason; its item is expected again (scan it again to retry). */
  #abort(ctx: ChangeContext, open: OpenRow, reason: string): void {
    const { cases, loads, compartments } = this.s.repos;
    for (const load of loads.openOf(open.id)) {
      loads.end(load.id, 'aborted', reason, ctx.now);
      cases.setItem(load.itemId, 'expected', null, ctx.now);
      ctx.event('load.aborted', { loadId: load.id, caseNo: load.caseNo, compartment: load.compartmentId, reason, by: load.actor });
      if (reason === 'item-not-detected') ctx.audit('cabinet', 'load.aborted', { loadId: load.id, caseNo: load.caseNo, compartment: load.compartmentId, reason });
    }
    // After an unseen pulse the item may be inside: the compartment stays bound to the case (and in fault).
    if (reason !== 'interrupted') compartments.releaseIfEmpty(open.compartmentId);
  }
}
