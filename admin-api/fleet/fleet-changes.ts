import type { CabinetView, FleetState, FleetSummary } from './fleet-state.ts';

/** One frame of the live stream: the cabinets that changed since the last frame, and the fleet summary. */
export interface FleetFrame {
  readonly summary: FleetSummary;
  readonly cabinets: readonly CabinetView[];
  /** Cabinets that left the fleet (their retained status was cleared). */
  readonly removed: readonly string[];
}

/**
 * Coalesces the state's changes into frames, at most one per `intervalMs` (100 ms: ~10 frames/s however
 * busy the fleet): the first change after a quiet spell goes out at once, later ones ride in the next frame.
 * A frame carries each changed cabinet once, as it is now. Nothing is collected while no one listens.
 */
export class FleetChanges {
  readonly #dirty = new Set<string>();
  readonly #subscribers = new Set<(frame: FleetFrame) => void>();
  #timer: NodeJS.Timeout | null = null;
  #lastFrameAt = -Infinity;
  #off: (() => void) | null = null;

  constructor(private readonly state: FleetState, private readonly options: { intervalMs?: number; now?: () => number } = {}) {}

  start(): void {
    this.#off = this.state.onChange((cabinetId) => this.#mark(cabinetId));
  }

  stop(): void {
    this.#off?.();
    this.#off = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#subscribers.clear();
  }

  /** `send` gets every frame from now on; the caller sends the snapshot it starts from. */
  subscribe(send: (frame: FleetFrame) => void): () => void {
    this.#subscribers.add(send);
    return () => this.#subscribers.delete(send);
  }

  get listeners(): number {
    return this.#subscribers.size;
  }

  #mark(cabinetId: string | null): void {
    if (this.#subscribers.size === 0) return;
    // null: the fleet as a whole changed (the broker link): the summary in the next frame shows it.
    if (cabinetId !== null) this.#dirty.add(cabinetId);
    if (this.#timer) return;
    const interval = this.options.intervalMs ?? 100;
    const wait = Math.max(0, this.#lastFrameAt + interval - this.#now());
    this.#timer = setTimeout(() => this.#flush(), wait);
  }

  #flush(): void {
    this.#timer = null;
    this.#lastFrameAt = this.#now();
    const cabinets: CabinetView[] = [];
    const removed: string[] = [];
    for (const id of this.#dirty) {
      const view = this.state.get(id);
      if (view) cabinets.push(view);
      else removed.push(id);
    }
    this.#dirty.clear();
    const frame: FleetFrame = { summary: this.state.summary(), cabinets, removed };
    for (const send of [...this.#subscribers]) send(frame);
  }

  #now(): number {
    return (this.options.now ?? Date.now)();
  }
}
