import type { EventBus } from '../events/bus.ts';
import { AuditChain } from './audit-chain.ts';
import type { Db } from './database.ts';
import { EventOutbox, type CabinetEvent } from './event-outbox.ts';
import { isStorageFailure, StorageHealth, StorageUnavailableError } from './storage-health.ts';

export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/** What a change may record besides its own rows: its events and audit entries, in the same transaction. */
export interface ChangeContext {
  readonly now: number;
  event(type: string, data: Record<string, unknown>): CabinetEvent;
  audit(actor: string, action: string, data: Record<string, unknown>): void;
  /** Runs once the change has committed (never if it rolls back): where a lock pulse is started. */
  afterCommit(fn: () => void): void;
}

/**
 * One door into the database for every change: one IMMEDIATE transaction per change, the change's events in
 * the outbox and its audit entries in the chain inside that transaction, and the events handed to live
 * listeners only after the commit (a rolled-back change announces nothing).
 */
export class CabinetStore {
  readonly outbox: EventOutbox;
  readonly audit: AuditChain;
  /** Whether the last change reached the disk; a failing disk is reported, never retried behind anyone's back. */
  readonly health: StorageHealth;
  #current: ChangeContext | null = null;
  #committed: CabinetEvent[] = [];
  #after: (() => void)[] = [];

  constructor(readonly db: Db, readonly bootId: string, private readonly bus: EventBus, readonly clock: Clock) {
    this.outbox = new EventOutbox(db, bootId);
    this.audit = new AuditChain(db);
    this.health = new StorageHealth(() => clock.now(), bus.onError);
  }

  change<T>(fn: (ctx: ChangeContext) => T): T {
    // A change made inside another joins it as a savepoint: one commit, one set of after-commit actions; if
    // the inner part throws, its rows, events and actions are undone and the outer change decides.
    if (this.#current) {
      const outer = this.#current;
      const marks = { events: this.#committed.length, after: this.#after.length };
      try {
        return this.db.transaction(() => fn(outer))();
      } catch (error) {
        this.#committed.length = marks.events;
        this.#after.length = marks.after;
        throw error;
      }
    }
    const committed: CabinetEvent[] = (this.#committed = []);
    const after: (() => void)[] = (this.#after = []);
    const now = this.clock.now();
    const ctx: ChangeContext = {
      now,
      event: (type, data) => {
        const e = this.outbox.append(type, data, now);
        committed.push(e);
        return e;
      },
      audit: (actor, action, data) => void this.audit.append(actor, action, data, now),
      afterCommit: (fn) => void after.push(fn),
    };
    this.#current = ctx;
    let result: T;
    try {
      result = this.db.transaction(() => fn(ctx)).immediate();
    } catch (error) {
      // Disk full, I/O error, a damaged file: the transaction is rolled back, so no after-commit action (no
      // pulse) runs; callers get one error type they can answer with "out of service".
      if (isStorageFailure(error)) {
        this.health.failed(error.code);
        throw new StorageUnavailableError(error.code, { cause: error });
      }
      throw error;
    } finally {
      this.#current = null;
    }
    for (const e of committed) this.bus.events.emit(e);
    for (const fn of after) fn();
    this.health.succeeded();
    return result;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
