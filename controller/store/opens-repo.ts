import type { OpenPurpose, OpenState } from '../domain/types.ts';
import type { Db } from './database.ts';

export interface OpenRow {
  readonly id: number;
  readonly compartmentId: string;
  readonly purpose: OpenPurpose;
  /** loadId's open group, pickup id, case number or remote request: what the open is for. */
  readonly ref: string;
  readonly state: OpenState;
  readonly pulses: number;
  readonly journaledAt: number;
  /** What the item sensor said as the door closed; `null` without item sensors (or before the close). */
  readonly itemAtClose: boolean | null;
}

interface Raw { id: number; compartment_id: string; purpose: OpenPurpose; ref: string; state: OpenState; pulses: number; journaled_at: number; item_at_close: number | null }
const toRow = (r: Raw): OpenRow => ({
  id: r.id, compartmentId: r.compartment_id, purpose: r.purpose, ref: r.ref, state: r.state, pulses: r.pulses, journaledAt: r.journaled_at,
  itemAtClose: r.item_at_close === null ? null : r.item_at_close === 1,
});

/** The open journal: one row per door opening, written before the relay is pulsed. */
export class OpensRepo {
  constructor(private readonly db: Db) {}

  journal(compartmentId: string, purpose: OpenPurpose, ref: string, now: number): number {
    return Number(this.db.prepare(`INSERT INTO opens (compartment_id, purpose, ref, state, journaled_at) VALUES (?, ?, ?, 'journaled', ?)`).run(compartmentId, purpose, ref, now).lastInsertRowid);
  }

  get(id: number): OpenRow | undefined {
    const r = this.db.prepare('SELECT * FROM opens WHERE id = ?').get(id) as Raw | undefined;
    return r && toRow(r);
  }

  /** The open in progress on a compartment (journaled, pulsed or door open), if any. */
  activeOn(compartmentId: string): OpenRow | undefined {
    const r = this.db.prepare(`SELECT * FROM opens WHERE compartment_id = ? AND state IN ('journaled','pulsed','opened') ORDER BY id DESC LIMIT 1`).get(compartmentId) as Raw | undefined;
    return r && toRow(r);
  }

  allActive(): OpenRow[] {
    return (this.db.prepare(`SELECT * FROM opens WHERE state IN ('journaled','pulsed','opened') ORDER BY id`).all() as Raw[]).map(toRow);
  }

  byRef(purpose: OpenPurpose, ref: string): OpenRow[] {
    return (this.db.prepare('SELECT * FROM opens WHERE purpose = ? AND ref = ? ORDER BY id').all(purpose, ref) as Raw[]).map(toRow);
  }

  markPulsed(id: number): void {
    this.db.prepare(`UPDATE opens SET state = CASE WHEN state = 'journaled' THEN 'pulsed' ELSE state END, pulses = pulses + 1 WHERE id = ?`).run(id);
  }

  setItemAtClose(id: number, seen: boolean | null): void {
    this.db.prepare('UPDATE opens SET item_at_close = ? WHERE id = ?').run(seen === null ? null : seen ? 1 : 0, id);
  }

  setState(id: number, state: OpenState, now: number): void {
    this.db.prepare(`UPDATE opens SET state = ?, opened_at = CASE WHEN ? = 'opened' THEN ? ELSE opened_at END, closed_at = CASE WHEN ? = 'closed' THEN ? ELSE closed_at END WHERE id = ?`).run(state, state, now, state, now, id);
  }
}

export interface LoadRow {
  readonly id: string;
  readonly itemId: number;
  readonly caseNo: string;
  readonly compartmentId: string;
  readonly openId: number;
  readonly state: 'open' | 'committed' | 'aborted';
  readonly reason: string | null;
  /** Who scanned the item (`clerk:li`, `courier:sun`, …). */
  readonly actor: string;
}

interface RawLoad { id: string; item_id: number; case_no: string; compartment_id: string; open_id: number; state: LoadRow['state']; reason: string | null; actor: string }
const toLoad = (r: RawLoad): LoadRow => ({ id: r.id, itemId: r.item_id, caseNo: r.case_no, compartmentId: r.compartment_id, openId: r.open_id, state: r.state, reason: r.reason, actor: r.actor });

export class LoadsRepo {
  constructor(private readonly db: Db) {}

  insert(l: { id: string; itemId: number; caseNo: string; compartmentId: string; openId: number; actor: string; now: number }): void {
    this.db.prepare(`INSERT INTO loads (id, item_id, case_no, compartment_id, open_id, state, actor, created_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)`).run(l.id, l.itemId, l.caseNo, l.compartmentId, l.openId, l.actor, l.now);
  }

  get(id: string): LoadRow | undefined {
    const r = this.db.prepare('SELECT * FROM loads WHERE id = ?').get(id) as RawLoad | undefined;
    return r && toLoad(r);
  }

  openOf(openId: number): LoadRow[] {
    return (this.db.prepare(`SELECT * FROM loads WHERE open_id = ? AND state = 'open' ORDER BY created_at`).all(openId) as RawLoad[]).map(toLoad);
  }

  end(id: string, state: 'committed' | 'aborted', reason: string | null, now: number): void {
    this.db.prepare('UPDATE loads SET state = ?, reason = ?, ended_at = ? WHERE id = ?').run(state, reason, now, id);
  }
}
