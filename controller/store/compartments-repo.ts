import type { CompartmentConfig } from '../config/schema.ts';
import { itemFootprint } from '../domain/allocation.ts';
import type { CompartmentHold, CompartmentService, CompartmentSize, DoorState, ItemType } from '../domain/types.ts';
import type { Db } from './database.ts';

export interface CompartmentRow {
  readonly id: string;
  readonly size: CompartmentSize;
  readonly lockChannel: number;
  readonly doorSensor: number;
  readonly service: CompartmentService;
  readonly serviceNote: string | null;
  readonly caseNo: string | null;
  readonly door: DoorState;
  /** Items committed inside. */
  readonly loadedItems: number;
  /** Volume of the items inside or being loaded. */
  readonly usedVolume: number;
  /** Held for a clerk because of what its item sensor saw; no new load goes there until cleared. */
  readonly hold: CompartmentHold | null;
  /** The case whose item was left behind (`item-left`, or a retrieval's leftover). */
  readonly holdCase: string | null;
  readonly holdSince: number | null;
  readonly holdAlarm: number | null;
  /** A deposit inside, or on its way in or out: the compartment is taken, as by a case. */
  readonly depositId: string | null;
}

interface Raw {
  id: string; size: CompartmentSize; lock_channel: number; door_sensor: number; service: CompartmentService; service_note: string | null; case_no: string | null; door: DoorState;
  hold: CompartmentHold | null; hold_case: string | null; hold_since: number | null; hold_alarm: number | null; deposit_id: string | null;
}

export class CompartmentsRepo {
  constructor(private readonly db: Db) {}

  /** Brings the table in line with the configuration; refuses to drop a compartment that holds items. */
  syncWithConfig(compartments: readonly CompartmentConfig[]): void {
    const wanted = new Set(compartments.map((c) => c.id));
    this.db.transaction(() => {
      for (const c of compartments) {
        this.db.prepare(`INSERT INTO compartments (id, size, lock_channel, door_sensor) VALUES (?, ?, ?, ?)
          ON CONFLICT (id) DO UPDATE SET size = excluded.size, lock_channel = excluded.lock_channel, door_sensor = excluded.door_sensor`).run(c.id, c.size, c.lockChannel, c.doorSensor);
      }
      for (const { id, case_no, deposit_id } of this.db.prepare('SELECT id, case_no, deposit_id FROM compartments').all() as { id: string; case_no: string | null; deposit_id: string | null }[]) {
        if (wanted.has(id)) continue;
        if (case_no !== null) throw new Error(`compartment ${id} holds case ${case_no} but is no longer in the configuration: retrieve the items first, or put ${id} back`);
        if (deposit_id !== null) throw new Error(`compartment ${id} holds a deposited document but is no longer in the configuration: take it out first (clerk station), or put ${id} back`);
        this.db.prepare('DELETE FROM compartments WHERE id = ?').run(id);
      }
    }).immediate();
  }

  all(): CompartmentRow[] {
    const rows = this.db.prepare('SELECT * FROM compartments ORDER BY id').all() as Raw[];
    const items = this.db.prepare(`SELECT compartment_id AS id, type, state FROM items WHERE state IN ('loading','loaded') AND compartment_id IS NOT NULL`).all() as { id: string; type: ItemType; state: string }[];
    return rows.map((r) => this.#toRow(r, items.filter((i) => i.id === r.id)));
  }

  get(id: string): CompartmentRow | undefined {
    const r = this.db.prepare('SELECT * FROM compartments WHERE id = ?').get(id) as Raw | undefined;
    if (!r) return undefined;
    const items = this.db.prepare(`SELECT type, state FROM items WHERE state IN ('loading','loaded') AND compartment_id = ?`).all(id) as { type: ItemType; state: string }[];
    return this.#toRow(r, items);
  }

  bySensor(sensor: number): CompartmentRow | undefined {
    const r = this.db.prepare('SELECT id FROM compartments WHERE door_sensor = ?').get(sensor) as { id: string } | undefined;
    return r ? this.get(r.id) : undefined;
  }

  /** By lock id (a lock board's `board × 256 + channel`, also its lock channel): how item sensors name it. */
  byLock(lockChannel: number): CompartmentRow | undefined {
    const r = this.db.prepare('SELECT id FROM compartments WHERE lock_channel = ?').get(lockChannel) as { id: string } | undefined;
    return r ? this.get(r.id) : undefined;
  }

  ofCase(caseNo: string): CompartmentRow[] {
    return (this.db.prepare('SELECT id FROM compartments WHERE case_no = ? ORDER BY id').all(caseNo) as { id: string }[]).map((r) => this.get(r.id)!);
  }

  setDoor(id: string, door: DoorState, now: number): void {
    this.db.prepare('UPDATE compartments SET door = ?, door_since = ? WHERE id = ?').run(door, now, id);
  }

  setService(id: string, service: CompartmentService, note: string | null): void {
    this.db.prepare('UPDATE compartments SET service = ?, service_note = ? WHERE id = ?').run(service, note, id);
  }

  setHold(id: string, hold: CompartmentHold, caseNo: string | null, alarmId: number, now: number): void {
    this.db.prepare('UPDATE compartments SET hold = ?, hold_case = ?, hold_since = ?, hold_alarm = ? WHERE id = ?').run(hold, caseNo, now, alarmId, id);
  }

  clearHold(id: string): void {
    this.db.prepare('UPDATE compartments SET hold = NULL, hold_case = NULL, hold_since = NULL, hold_alarm = NULL WHERE id = ?').run(id);
  }

  /** A deposit takes the compartment (`null`: gives it back). */
  setDeposit(id: string, depositId: string | null): void {
    this.db.prepare('UPDATE compartments SET deposit_id = ? WHERE id = ?').run(depositId, id);
  }

  bind(id: string, caseNo: string): void {
    this.db.prepare('UPDATE compartments SET case_no = ? WHERE id = ?').run(caseNo, id);
  }

  /** Frees the compartment once nothing of its case is inside or on the way in. */
  releaseIfEmpty(id: string): void {
    this.db.prepare(`UPDATE compartments SET case_no = NULL WHERE id = ? AND NOT EXISTS (SELECT 1 FROM items WHERE compartment_id = ? AND state IN ('loading','loaded'))`).run(id, id);
  }

  #toRow(r: Raw, items: { type: ItemType; state: string }[]): CompartmentRow {
    return {
      id: r.id, size: r.size, lockChannel: r.lock_channel, doorSensor: r.door_sensor, service: r.service, serviceNote: r.service_note,
      caseNo: r.case_no, door: r.door,
      hold: r.hold, holdCase: r.hold_case, holdSince: r.hold_since, holdAlarm: r.hold_alarm, depositId: r.deposit_id,
      loadedItems: items.filter((i) => i.state === 'loaded').length,
      usedVolume: items.reduce((sum, i) => sum + itemFootprint[i.type].volume, 0),
    };
  }
}
