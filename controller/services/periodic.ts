/**
 * Runs a sweep now and then every `intervalMs`, never keeping the process alive; stop() clears it. A sweep
 * that throws (the disk is full) is reported and tried again next time, never taking the process down.
 */
export class PeriodicSweep {
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly sweep: () => unknown, private readonly intervalMs: number, private readonly onError: (error: unknown) => void) {}

  start(): void {
    this.#run();
    this.#timer = setInterval(() => this.#run(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #run(): void {
    try {
      this.sweep();
    } catch (error) {
      this.onError(error);
    }
  }
}
