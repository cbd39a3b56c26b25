import { randomUUID } from 'node:crypto';
import type { Db } from './database.ts';

/** One event as it goes out on MQTT `…/events` and to the pages' SSE streams. */
export interface CabinetEvent {
  readonly seq: number;
  readonly bootId: string;
  readonly id: string;
  readonly ts: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

interface EventRow { seq: number; id: string; boot_id: string; ts: number; type: string; data: string }

const toEvent = (r: EventRow): CabinetEvent => ({ seq: r.seq, bootId: r.boot_id, id: r.id, ts: new Date(r.ts).toISOString(), type: r.type, data: JSON.parse(r.data) });

/**
 * The durable event outbox. Appends happen inside the caller's transaction, so an event exists exactly when
 * the change it reports was committed, and `seq` (AUTOINCREMENT, rolled back with the transaction) has no gap.
 */
export class EventOutbox {
  readonly #insert;
  readonly #after;
  readonly #depth;

  constructor(private readonly db: Db, private readonly bootId: string) {
    this.#insert = db.prepare<[string, string, number, string, string]>('INSERT INTO events (id, boot_id, ts, type, data) VALUES (?, ?, ?, ?, ?) RETURNING seq');
    this.#after = db.prepare<[number, number]>('SELECT seq, id, boot_id, ts, type, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
    this.#depth = db.prepare('SELECT count(*) AS n FROM events WHERE sent_at IS NULL');
  }

  append(type: string, data: Record<string, unknown>, now: number): CabinetEvent {
    const id = randomUUID();
    const json = JSON.stringify(data);
    const { seq } = this.#insert.get(id, this.bootId, now, type, json) as { seq: number };
    return { seq, bootId: this.bootId, id, ts: new Date(now).toISOString(), type, data: JSON.parse(json) };
  }

  after(seq: number, limit = 500): CabinetEvent[] {
    return (this.#after.all(seq, limit) as EventRow[]).map(toEvent);
  }

  /** The newest events of these types since `since` (ms), newest first: what happened lately, for a page. */
  recentOfTypes(types: readonly string[], since: number, limit: number): CabinetEvent[] {
    if (types.length === 0) return [];
    const marks = types.map(() => '?').join(',');
    return (this.db.prepare(`SELECT seq, id, boot_id, ts, type, data FROM events WHERE type IN (${marks}) AND ts >= ? ORDER BY seq DESC LIMIT ?`)
      .all(...types, since, limit) as EventRow[]).map(toEvent);
  }

  /** Events not yet acknowledged by the broker. */
  depth(): number {
    return (this.#depth.get() as { n: number }).n;
  }

  /** The seq of the last event recorded (0 before the first): the count of events ever recorded. */
  lastSeq(): number {
    return (this.db.prepare('SELECT coalesce(max(seq), 0) AS s FROM events').get() as { s: number }).s;
  }
}
