/** A run of missing seqs, both ends included. */
export type SeqRange = readonly [from: number, to: number];

/**
 * What one arriving seq meant: the first one seen, the next in line, one after a jump (a new gap), one that
 * fills (part of) a known gap, or a repeat (already seen: ignored).
 */
export type SeqArrival = 'first' | 'next' | 'gap' | 'fill' | 'duplicate';

/**
 * Follows one cabinet's event seqs. `seq` rises by exactly 1 per event across restarts (CONTRACT §4), so the
 * tracking ignores bootId: a jump past `last + 1` opens a gap `[last + 1, seq - 1]`; a later arrival inside a
 * gap shrinks, splits or closes it; anything else at or below `last` is a repeat. The first seq seen starts
 * the tracking (what came before the monitor started is not counted as missing).
 *
 * Memory is bounded: past `maxGaps` ranges the two oldest merge into one. A merged range may include seqs that
 * did arrive (so a late copy of one counts as a fill, not a repeat) but never hides a missing one.
 */
export class SeqGaps {
  #last: number | null = null;
  readonly #gaps: [number, number][] = [];

  constructor(private readonly maxGaps = 64) {}

  get last(): number | null {
    return this.#last;
  }

  /** The open gaps, oldest first. */
  get gaps(): readonly SeqRange[] {
    return this.#gaps;
  }

  /** How many seqs the open gaps hold. */
  get missing(): number {
    return this.#gaps.reduce((sum, [from, to]) => sum + (to - from + 1), 0);
  }

  receive(seq: number): SeqArrival {
    const last = this.#last;
    if (last === null) {
      this.#last = seq;
      return 'first';
    }
    if (seq === last + 1) {
      this.#last = seq;
      return 'next';
    }
    if (seq > last) {
      this.#gaps.push([last + 1, seq - 1]);
      this.#bound();
      this.#last = seq;
      return 'gap';
    }
    return this.#fill(seq) ? 'fill' : 'duplicate';
  }

  #fill(seq: number): boolean {
    const i = this.#gaps.findIndex(([from, to]) => from <= seq && seq <= to);
    if (i < 0) return false;
    const [from, to] = this.#gaps[i]!;
    if (from === to) this.#gaps.splice(i, 1);
    else if (seq === from) this.#gaps[i] = [from + 1, to];
    else if (seq === to) this.#gaps[i] = [from, to - 1];
    else this.#gaps.splice(i, 1, [from, seq - 1], [seq + 1, to]);
    this.#bound();
    return true;
  }

  /** Past the bound, the two oldest gaps become one (see above). */
  #bound(): void {
    if (this.#gaps.length <= this.maxGaps) return;
    const [older, newer] = this.#gaps.splice(0, 2) as [[number, number], [number, number]];
    this.#gaps.unshift([older[0], newer[1]]);
  }
}
