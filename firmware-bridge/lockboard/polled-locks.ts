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
   * not cover, and `announce`, which tells the listeners what changed.
   */
  take(board: number, channels: readonly number[], readings: readonly BoardReading[], at: number): { uncovered: number[]; edges: DoorEdge[]; announce(): void } {
    const edges: DoorEdge[] = [];
    const items: ItemChange[] = [];
    const seen = new Set<number>();
    for (const lock of readings.flatMap((r) => r.locks)) {
      if (!channels.includes(lock.channel)) continue;
      seen.add(lock.channel);
      const id = lockId(board, lock.channel);
      const open = !lock.locked;
      const wasOpen = this.#doorOpen.get(id);
      this.#doorOpen.set(id, open);
      if (wasOpen !== undefined && wasOpen !== open) edges.push({ sensor: id, open, at });
      if (!this.items || lock.itemPresent === undefined) continue;
      const was = this.#itemPresent.get(id);
      this.#itemPresent.set(id, lock.itemPresent);
      if (was !== undefined && was !== lock.itemPresent) items.push({ lockId: id, present: lock.itemPresent, at });
    }
    return {
      uncovered: channels.filter((c) => !seen.has(c)),
      edges,
      announce: () => {
        for (const edge of edges) this.#edges.emit(edge);
        for (const change of items) this.#itemChanges.emit(change);
      },
    };
  }
}
