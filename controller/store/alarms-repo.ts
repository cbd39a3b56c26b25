import type { Db } from './database.ts';

export interface AlarmRow {
  readonly id: number;
  readonly kind: string;
  readonly compartment: string | null;
  readonly raisedAt: number;
  readonly ackedAt: number | null;
  readonly ackedBy: string | null;
  readonly data: Record<string, unknown>;
}

interface RawAlarm { id: number; kind: string; compartment: string | null; raised_at: number; acked_at: number | null; acked_by: string | null; data: string }

const toAlarm = (r: RawAlarm): AlarmRow => ({
  id: r.id, kind: r.kind, compartment: r.compartment, raisedAt: r.raised_at, ackedAt: r.acked_at, ackedBy: r.acked_by, data: JSON.parse(r.data),
});

/** Alarms: raised by faults and abuse, open until ops acknowledge them. */
export class AlarmsRepo {
  constructor(private readonly db: Db) {}

  raise(kind: string, compartment: string | null, data: Record<string, unknown>, now: number): number {
    return Number(this.db.prepare('INSERT INTO alarms (kind, compartment, raised_at, data) VALUES (?, ?, ?, ?)').run(kind, compartment, now, JSON.stringify(data)).lastInsertRowid);
  }

  get(id: number): AlarmRow | undefined {
    const r = this.db.prepare('SELECT * FROM alarms WHERE id = ?').get(id) as RawAlarm | undefined;
    return r && toAlarm(r);
  }

  /** Open (unacknowledged) alarms, oldest first. */
  open(limit = 500): AlarmRow[] {
    return (this.db.prepare('SELECT * FROM alarms WHERE acked_at IS NULL ORDER BY id LIMIT ?').all(limit) as RawAlarm[]).map(toAlarm);
  }

  openCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM alarms WHERE acked_at IS NULL').get() as { n: number }).n;
  }

  /** False when it was already acknowledged (or does not exist). */
  acknowledge(id: number, by: string, now: number): boolean {
    return this.db.prepare('UPDATE alarms SET acked_at = ?, acked_by = ? WHERE id = ? AND acked_at IS NULL').run(now, by, id).changes === 1;
  }
}
