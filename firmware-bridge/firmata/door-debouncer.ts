/** A debounced level change: `at` is when the new level was seen, on the driver's clock. */
export interface DebouncedEdge {
  readonly sensor: number;
  readonly open: boolean;
  readonly at: number;
}

/**
 * Door switches, debounced on the leading edge: the first change of level is reported at once (a door that
 * springs open is known within one wire round trip, not after a hold time), then the switch is not listened
 * to for `debounceMs` while its contacts settle. When that window ends, the level it settled on is reported
 * if it differs from the one reported, so a bounce can never leave a wrong level behind. The price, a
 * glitch shorter than `debounceMs` shows as a quick open/close pair, is paid upstream: the controller judges
 * a door by how long it stays open, never by one edge.
 */
export class DoorDebouncer {
  readonly #stable = new Map<number, boolean | null>();
  /** The last raw level seen while a sensor's settle window is running. */
  readonly #settling = new Map<number, { timer: NodeJS.Timeout; raw: boolean }>();

  constructor(
    sensors: readonly number[],
    private readonly debounceMs: number,
    private readonly onEdge: (edge: DebouncedEdge) => void,
    private readonly now: () => number = Date.now,
  ) {
    for (const sensor of sensors) this.#stable.set(sensor, null);
  }

  /** The reported level; `null` until the sensor has been read once, `undefined` for an unknown sensor. */
  level(sensor: number): boolean | null | undefined {
    return this.#stable.get(sensor);
  }

  /** A raw level from the wire. */
  sample(sensor: number, open: boolean): void {
    if (!this.#stable.has(sensor)) return;
    const stable = this.#stable.get(sensor);
    if (stable === null || stable === undefined) {
      this.#stable.set(sensor, open);
      return;
    }
    const settling = this.#settling.get(sensor);
    if (settling) {
      settling.raw = open;
      return;
    }
    if (open === stable) return;
    this.#stable.set(sensor, open);
    this.onEdge({ sensor, open, at: this.now() });
    if (this.debounceMs > 0) this.#settle(sensor, open);
  }

  #settle(sensor: number, open: boolean): void {
    const entry = { raw: open, timer: setTimeout(() => {
      this.#settling.delete(sensor);
      // Whatever the contacts settled on is the truth; report it if the reported level is now wrong.
      if (entry.raw !== this.#stable.get(sensor)) this.sample(sensor, entry.raw);
    }, this.debounceMs) };
    this.#settling.set(sensor, entry);
  }

  /**
   * Takes a fresh reading as the truth at once (a (re)connect's snapshot, not a bounce). Returns the edge when
   * a known level changed (a door that moved while the board was away), for the caller to emit when ready.
   */
  learn(sensor: number, open: boolean): DebouncedEdge | null {
    if (!this.#stable.has(sensor)) return null;
    this.#cancel(sensor);
    const before = this.#stable.get(sensor);
    this.#stable.set(sensor, open);
    return before === null || before === undefined || before === open ? null : { sensor, open, at: this.now() };
  }

  /** Stops every settle window (the link went away: the next connect reads the sensors afresh). */
  cancelPending(): void {
    for (const sensor of [...this.#settling.keys()]) this.#cancel(sensor);
  }

  #cancel(sensor: number): void {
    const settling = this.#settling.get(sensor);
    if (!settling) return;
    clearTimeout(settling.timer);
    this.#settling.delete(sensor);
  }
}
