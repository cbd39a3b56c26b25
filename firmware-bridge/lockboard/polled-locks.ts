import { ListenerSet } from '../listeners.ts';
import type { DoorEdge, DoorSensors, ItemChange, ItemSensors } from '../ports.ts';
import { lockId } from './lock-id.ts';
import type { BoardReading } from './protocol.ts';

// What the polls say about each lock: its door (the feedback contact: latched = shut) and, on boards that have
// them, its item sensor. A reading that differs from the last one is an edge (a change); the first is not.
// Listeners are told only when the driver says so, so it can announce the link first.

export class PolledLocks {
  readonly doors: DoorSensors;
  readonly items: ItemSensors | undefined;
  readonly #doorOpen = new Map<number, boolean>();
  readonly #itemPresent = new Map<number, boolean>();
  /** Which `take` last saw each lock (counted once per take without a set made each time). */
  readonly #coveredBy = new Map<number, number>();
  #takes = 0;
  readonly #edges: ListenerSet<DoorEdge>;
  readonly #itemChanges: ListenerSet<ItemChange>;

  constructor(reportsItems: boolean, onListenerError: (error: unknown) => void) {
    this.#edges = new ListenerSet<DoorEdge>(onListenerError);
    this.#itemChanges = new ListenerSet<ItemChange>(onListenerError);
    this.doors = {
      isOpen: (sensor) => this.#doorOpen.get(sensor) ?? null,
      onEdge: (listener) => this.#edges.add(listener),
    };
    this.items = reportsItems
      ? { isPresent: (id) => this.#itemPresent.get(id) ?? null, onChange: (listener) => this.#itemChanges.add(listener) }
      : undefined;
  }

  /**
   * Takes one board's readings for its configured `channels`. Returns the configured channels the readings did
   * not cover, and what changed (the listeners are told by `announce`). A quiet poll allocates nothing: this
   * runs for every board several times a second for as long as the cabinet is on.
   */
  take(board: number, channels: ReadonlySet<number>, readings: readonly BoardReading[], at: number): PolledChanges {
    let edges: DoorEdge[] | null = null;
    let items: ItemChange[] | null = null;
    const take = ++this.#takes;
    let covered = 0;
    for (const reading of readings) {
      for (const lock of reading.locks) {
        if (!channels.has(lock.channel)) continue;
        const id = lockId(board, lock.channel);
        if (this.#coveredBy.get(id) !== take) {
          this.#coveredBy.set(id, take);
          covered++;
        }
        const open = !lock.locked;
        const wasOpen = this.#doorOpen.get(id);
        if (wasOpen !== open) {
          this.#doorOpen.set(id, open);
          if (wasOpen !== undefined) (edges ??= []).push({ sensor: id, open, at });
        }
        if (!this.items || lock.itemPresent === undefined) continue;
        const was = this.#itemPresent.get(id);
        if (was === lock.itemPresent) continue;
        this.#itemPresent.set(id, lock.itemPresent);
        if (was !== undefined) (items ??= []).push({ lockId: id, present: lock.itemPresent, at });
      }
    }
    const uncovered = covered === channels.size ? NONE : [...channels].filter((c) => this.#coveredBy.get(lockId(board, c)) !== take).sort((a, b) => a - b);
    return edges === null && items === null && uncovered.length === 0 ? QUIET : { uncovered, edges: edges ?? NONE, items: items ?? NONE };
  }

  /** Tells the listeners what `take` found changed: after the driver has announced the link. */
  announce(changes: PolledChanges): void {
    for (const edge of changes.edges) this.#edges.emit(edge);
    for (const change of changes.items) this.#itemChanges.emit(change);
  }
}

/** What one board's poll changed. */
export interface PolledChanges {
  readonly uncovered: readonly number[];
  readonly edges: readonly DoorEdge[];
  readonly items: readonly ItemChange[];
}

const NONE: readonly never[] = Object.freeze([]);
const QUIET: PolledChanges = Object.freeze({ uncovered: NONE, edges: NONE, items: NONE });
