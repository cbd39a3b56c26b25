import type { Candidate, FrameMatcher } from './frame.ts';

// Resynchronising reader for one transaction on a lock-board bus: feed it byte chunks as they come off the wire
// (split anywhere); it hands out the first frame its matcher awaits and counts what it skipped on the way —
// stray bytes (line noise, `FA FD 99 99`, a frame missing its first byte), damaged frames, frames for another
// board or lock, the request's own echo. Pure and bounded: it holds fewer than `maxFrameLength` bytes between
// pushes, uses no timer (the driver decides when silence means "no reply" and calls `end()`), and never throws.

/** What a reader skipped; the driver adds these up for /metrics. */
export interface SkipCounts {
  /** Bytes outside any well-formed frame (those of damaged or cut-off frames included). */
  readonly strayBytes: number;
  /** Frames with the awaited header and address whose check byte was wrong. */
  readonly badChecks: number;
  /** Well-formed frames from or for another board or lock. */
  readonly wrongAddress: number;
  /** Well-formed frames from the right board answering something else (a late reply to an earlier request). */
  readonly unexpected: number;
  /** The request itself, heard back. */
  readonly echoes: number;
  /** Starts of the awaited frame cut off by silence or by the next frame. */
  readonly truncated: number;
}

export const NOTHING_SKIPPED: SkipCounts = Object.freeze({ strayBytes: 0, badChecks: 0, wrongAddress: 0, unexpected: 0, echoes: 0, truncated: 0 });

export type ReadStep<T> =
  /** The awaited frame: `value` decoded, `frame` its bytes. Anything after it in the chunk is stray. */
  | { readonly kind: 'frame'; readonly value: T; readonly frame: Buffer; readonly skipped: SkipCounts }
  /** Not yet: the awaited frame has not (fully) arrived. */
  | { readonly kind: 'waiting'; readonly skipped: SkipCounts }
  /** The transaction is over (a frame was handed out, or `end()` was called): the bytes were dropped as stray. */
  | { readonly kind: 'done'; readonly skipped: SkipCounts };

type Tally = { -readonly [K in keyof SkipCounts]: SkipCounts[K] };

export function addSkipCounts(a: SkipCounts, b: SkipCounts): SkipCounts {
  return {
    strayBytes: a.strayBytes + b.strayBytes,
    badChecks: a.badChecks + b.badChecks,
    wrongAddress: a.wrongAddress + b.wrongAddress,
    unexpected: a.unexpected + b.unexpected,
    echoes: a.echoes + b.echoes,
    truncated: a.truncated + b.truncated,
  };
}

const EMPTY = Buffer.alloc(0);

export class FrameReader<T> {
  readonly #matcher: FrameMatcher<T>;
  /** Bytes from the first position whose frame is still undecided. */
  #pending: Buffer = EMPTY;
  /** Leading bytes of `#pending` that belong to a frame already counted (so they are not stray). */
  #covered = 0;
  #done = false;
  #skipped: SkipCounts = NOTHING_SKIPPED;

  /** A reader for one transaction: create it before the request is written (that is the input flush). */
  constructor(matcher: FrameMatcher<T>) {
    this.#matcher = matcher;
  }

  /** What this reader awaits, for logs. */
  get awaited(): string {
    return this.#matcher.awaited;
  }

  /** Everything skipped so far. */
  get skipped(): SkipCounts {
    return this.#skipped;
  }

  /** Bytes held, waiting to be decided (always fewer than the matcher's `maxFrameLength`). */
  get pending(): number {
    return this.#pending.length;
  }

  get done(): boolean {
    return this.#done;
  }

  /** Feeds one chunk; says whether the awaited frame is complete and what was skipped in this chunk. */
  push(chunk: Uint8Array): ReadStep<T> {
    if (this.#done) return { kind: 'done', skipped: this.#count({ ...NOTHING_SKIPPED, strayBytes: chunk.length }) };
    const bytes = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const max = this.#matcher.maxFrameLength;
    let undecided = -1;
    for (let at = 0; at < bytes.length; at++) {
      const candidate = this.#classify(bytes.subarray(at), false, max);
      if (candidate.kind === 'match') {
        const frame = Buffer.from(bytes.subarray(at, at + candidate.length));
        const after = bytes.length - at - candidate.length;
        // The usual case, the reply alone in its chunk, skips nothing (this runs for every poll of every board).
        if (at === 0 && after === 0) {
          this.#finish();
          return { kind: 'frame', value: candidate.value, frame, skipped: NOTHING_SKIPPED };
        }
        // A frame that starts here ended whatever began before it: count those as if the bytes ended here.
        const { tally: before } = this.#tally(bytes.subarray(0, at), true);
        before.strayBytes += after;
        this.#finish();
        return { kind: 'frame', value: candidate.value, frame, skipped: this.#count(before) };
      }
      if (candidate.kind === 'partial' && undecided < 0) undecided = at;
    }
    const settled = undecided < 0 ? bytes.length : undecided;
    const { tally, coveredUntil } = this.#tally(bytes.subarray(0, settled), false, bytes);
    this.#covered = Math.max(0, coveredUntil - settled);
    this.#pending = undecided < 0 ? EMPTY : Buffer.from(bytes.subarray(undecided));
    return { kind: 'waiting', skipped: this.#count(tally) };
  }

  /**
   * The line went silent (or the driver gave up waiting): no awaited frame came. Counts what was held — the
   * start of a frame that never finished is `truncated` — and ends the transaction.
   */
  end(): SkipCounts {
    if (this.#done) return NOTHING_SKIPPED;
    const { tally } = this.#tally(this.#pending, true);
    this.#finish();
    return this.#count(tally);
  }

  /**
   * Counts the positions of `region`. With `ended`, nothing follows the region (silence, or the awaited frame
   * starts right after it); otherwise the matcher may look on into `whole`, of which `region` is the start.
   * `coveredUntil` is where the last counted frame ends, as an offset into `region` (it may lie beyond it).
   */
  #tally(region: Buffer, ended: boolean, whole: Buffer = region): { tally: Tally; coveredUntil: number } {
    const tally: Tally = { ...NOTHING_SKIPPED };
    const max = this.#matcher.maxFrameLength;
    let coveredUntil = this.#covered;
    for (let at = 0; at < region.length; at++) {
      // Inside a frame already counted, what looks like the start of another is that frame's own bytes.
      if (at < coveredUntil) continue;
      const view = ended ? region.subarray(at) : whole.subarray(at);
      const candidate = this.#classify(view, ended, max);
      if (candidate.kind === 'skip') {
        if (candidate.reason === 'wrong-address') tally.wrongAddress++;
        else if (candidate.reason === 'unexpected') tally.unexpected++;
        else tally.echoes++;
        coveredUntil = at + candidate.length;
        continue;
      }
      if (candidate.kind === 'bad-check') tally.badChecks++;
      if (candidate.kind === 'truncated') tally.truncated++;
      tally.strayBytes++;
    }
    return { tally, coveredUntil };
  }

  /**
   * The matcher's answer at one position, held to the contract: a frame must fit in the bytes seen, and a
   * position stays undecided only while fewer than `maxFrameLength` bytes follow it (so memory stays bounded).
   */
  #classify(view: Buffer, ended: boolean, max: number): Candidate<T> {
    const candidate = this.#matcher.classify(view.subarray(0, max), ended);
    switch (candidate.kind) {
      case 'match':
      case 'skip':
        return Number.isInteger(candidate.length) && candidate.length >= 1 && candidate.length <= Math.min(view.length, max) ? candidate : NONE;
      case 'partial':
        return !ended && view.length < max ? candidate : NONE;
      default:
        return candidate;
    }
  }

  #finish(): void {
    this.#done = true;
    this.#pending = EMPTY;
    this.#covered = 0;
  }

  #count(tally: SkipCounts): SkipCounts {
    this.#skipped = addSkipCounts(this.#skipped, tally);
    return tally;
  }
}

const NONE: Candidate<never> = Object.freeze({ kind: 'none' });
