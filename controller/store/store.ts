import type { EventBus } from '../events/bus.ts';
import { AuditChain } from './audit-chain.ts';
import type { Db } from './database.ts';
import { EventOutbox, type CabinetEvent } from './event-outbox.ts';

export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/** What a change may record besides its own rows: its events and audit entries, in the same transaction. */
export interface ChangeContext {
  readonly now: number;
  event(type: string, data: Record<string, unknown>): CabinetEvent;
  audit(actor: string, action: string, data: Record<string, unknown>): void;
}

/**
 * One door into the database for every change: one IMMEDIATE transaction per change, the change's events in
 * the outbox and its audit entries in the chain inside that transaction, and the events handed to live
 * listeners only after the commit (a rolled-back change announces nothing).
 */
export class CabinetStore {
  readonly outbox: EventOutbox;
  readonly audit: AuditChain;
  #depth = 0;

  constructor(readonly db: Db, readonly bootId: string, private readonly bus: EventBus, readonly clock: Clock) {
    this.outbox = new EventOutbox(db, bootId);
    this.audit = new AuditChain(db);
  }

  change<T>(fn: (ctx: ChangeContext) => T): T {
    if (this.#depth > 0) throw new Error('nested change: compose inside one change instead');
    const committed: CabinetEvent[] = [];
    const now = this.clock.now();
    const ctx: ChangeContext = {
      now,
      event: (type, data) => {
        const e = this.outbox.append(type, data, now);
        committed.push(e);
        return e;
      },
      audit: (actor, action, data) => void this.audit.append(actor, action, data, now),
    };
    this.#depth++;
    let result: T;
    try {
      result = this.db.transaction(() => fn(ctx)).immediate();
    } catch (error) {
      committed.length = 0;
      throw error;
    } finally {
      this.#depth--;
    }
    for (const e of committed) this.bus.events.emit(e);
    return result;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
