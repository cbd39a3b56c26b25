/** At most `limit` things within any `windowMs`: the times of the recent ones, in memory. */
export class SlidingWindow {
  readonly #times: number[] = [];

  constructor(private readonly windowMs: number, private readonly limit: number) {}

  /** How many within the window before `now`. */
  count(now: number): number {
    this.#prune(now);
    return this.#times.length;
  }

  /** 0 if one more may happen now, else how long (ms) until it may. */
  waitMs(now: number): number {
    this.#prune(now);
    if (this.#times.length < this.limit) return 0;
    return this.#times[this.#times.length - this.limit]! + this.windowMs - now;
  }

  add(now: number): void {
    this.#times.push(now);
  }

  #prune(now: number): void {
    while (this.#times.length > 0 && this.#times[0]! <= now - this.windowMs) this.#times.shift();
  }
}
