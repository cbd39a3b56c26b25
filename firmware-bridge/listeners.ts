import type { Listener, Unsubscribe } from './ports.ts';

/**
 * A typed listener set. A listener that throws is isolated: the error goes to `onError` and the other
 * listeners still run, so one failing feature cannot take down the wire.
 */
export class ListenerSet<T> {
  readonly #listeners = new Set<Listener<T>>();
  constructor(private readonly onError: (error: unknown) => void = (e) => queueMicrotask(() => { throw e; })) {}

  add(listener: Listener<T>): Unsubscribe {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(value: T): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(value);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  get size(): number {
    return this.#listeners.size;
  }
}
