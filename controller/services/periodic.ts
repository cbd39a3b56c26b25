/** Runs a sweep now and then every `intervalMs`, never keeping the process alive; stop() clears it. */
export class PeriodicSweep {
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly sweep: () => unknown, private readonly intervalMs: number) {}

  start(): void {
    this.sweep();
    this.#timer = setInterval(() => this.sweep(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
