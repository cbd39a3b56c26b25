// Counting refusals that anyone can cause (unverified MQTT commands, scans that are no pickup QR), so that a
// flood of them cannot become a flood of durable writes and replies.

/** Refusals are written at most once per this interval by default (plus the first of a quiet spell). */
export const REFUSAL_INTERVAL_MS = 10_000;
/** Replies to unverified commands per interval at the most; past it they get none, so a flood is not echoed. */
export const REFUSAL_REPLIES_PER_INTERVAL = 20;

/** One refusal: for a command, one refused before its signature, topic and lifetime checked out. */
export interface UnverifiedRefusal {
  /** What was refused: a command's name (or a fixed placeholder), `scan`, …; never the sender's own text. */
  readonly name: string;
  readonly error: string;
  /** Only a requestId of the valid form. */
  readonly requestId: string | null;
}

/** What one `cmd.refused` event and its audit entry carry for unverified commands. */
export interface RefusalSummary {
  readonly count: number;
  /** The first refusal of the span. */
  readonly sample: { readonly name: string; readonly error: string; readonly requestId?: string };
  readonly since: string;
  readonly until: string;
}

export interface RefusalSummaryOptions {
  /** Writes one summary durably (one event, one audit entry); may throw when the disk fails. */
  readonly write: (summary: RefusalSummary) => void;
  readonly now: () => number;
  readonly onWriteError: (error: unknown) => void;
  readonly intervalMs?: number;
  readonly repliesPerInterval?: number;
}

/**
 * Counts refusals (unverified commands from anyone who can publish on `…/cmd/+`, unrecognised scans) so that a
 * flood does not become a flood of durable writes and replies. The first refusal after a quiet interval is written at once; the
 * rest of that interval is one summary, written when the interval ends (or at stop). Memory is a few numbers
 * and one sample, however many arrive.
 */
export class RefusalSummaries {
  #timer: NodeJS.Timeout | null = null;
  #pending: { count: number; sample: RefusalSummary['sample']; since: number; until: number } | null = null;
  #repliesLeft = 0;
  #stopped = false;
  readonly #intervalMs: number;
  readonly #repliesPerInterval: number;

  constructor(private readonly o: RefusalSummaryOptions) {
    this.#intervalMs = o.intervalMs ?? REFUSAL_INTERVAL_MS;
    this.#repliesPerInterval = o.repliesPerInterval ?? REFUSAL_REPLIES_PER_INTERVAL;
  }

  /** Records one refusal; true when it may be answered on `…/reply` (it has a requestId and the budget allows). */
  refuse(refusal: UnverifiedRefusal): boolean {
    if (this.#stopped) return false;
    const now = this.o.now();
    const sample = { name: refusal.name, error: refusal.error, ...(refusal.requestId ? { requestId: refusal.requestId } : {}) };
    if (this.#timer === null) {
      this.#repliesLeft = this.#repliesPerInterval;
      this.#schedule();
      this.#write({ count: 1, sample, since: now, until: now });
    } else if (this.#pending) {
      this.#pending.count++;
      this.#pending.until = now;
    } else {
      this.#pending = { count: 1, sample, since: now, until: now };
    }
    if (refusal.requestId === null || this.#repliesLeft <= 0) return false;
    this.#repliesLeft--;
    return true;
  }

  /** Writes what is pending; no more refusals are counted. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#flush();
  }

  #schedule(): void {
    this.#timer = setTimeout(() => this.#intervalEnded(), this.#intervalMs);
    this.#timer.unref();
  }

  /** A busy interval is followed by another; a quiet one ends the spell, so the next refusal is written at once. */
  #intervalEnded(): void {
    this.#timer = null;
    if (!this.#flush()) return;
    this.#repliesLeft = this.#repliesPerInterval;
    this.#schedule();
  }

  #flush(): boolean {
    const pending = this.#pending;
    if (!pending) return false;
    this.#pending = null;
    this.#write(pending);
    return true;
  }

  #write(span: { count: number; sample: RefusalSummary['sample']; since: number; until: number }): void {
    try {
      this.o.write({ count: span.count, sample: span.sample, since: new Date(span.since).toISOString(), until: new Date(span.until).toISOString() });
    } catch (error) {
      this.o.onWriteError(error);
    }
  }
}
