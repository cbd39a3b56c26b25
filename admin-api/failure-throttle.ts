/**
 * Counts failures per client address in a fixed window; past `limit` the address waits for the window to
 * end. Memory stays bounded: at most `maxClients` addresses are tracked (the oldest windows are dropped).
 */
export class FailureThrottle {
  readonly #windows = new Map<string, { count: number; start: number }>();

  constructor(private readonly limit: number, private readonly windowMs: number, private readonly maxClients = 10_000) {}

  /** Seconds the address must still wait, or null when it may try. */
  waitSeconds(client: string, now: number): number | null {
    const w = this.#windows.get(client);
    if (!w) return null;
    if (now - w.start >= this.windowMs) {
      this.#windows.delete(client);
      return null;
    }
    return w.count >= this.limit ? Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000)) : null;
  }

  record(client: string, now: number): void {
    const w = this.#windows.get(client);
    if (w && now - w.start < this.windowMs) {
      w.count++;
      return;
    }
    this.#windows.delete(client);
    if (this.#windows.size >= this.maxClients) this.#windows.delete(this.#windows.keys().next().value!);
    this.#windows.set(client, { count: 1, start: now });
  }
}
