/**
 * Callers of a driver's `start()` waiting for its first `ok`: each waits until `resolveAll()` or until its own
 * timeout, whose error the driver words (it knows why it is not ready); `rejectAll()` ends every wait at once
 * (the driver was stopped). The driver keeps connecting in the background either way.
 */
export class ReadyWaiters {
  readonly #waiters = new Set<{ resolve: () => void; reject: (error: Error) => void }>();

  wait(timeoutMs: number, timedOut: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          reject(error);
        },
      };
      const timer = setTimeout(() => waiter.reject(timedOut()), timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  resolveAll(): void {
    for (const waiter of [...this.#waiters]) waiter.resolve();
  }

  rejectAll(error: Error): void {
    for (const waiter of [...this.#waiters]) waiter.reject(error);
  }
}
