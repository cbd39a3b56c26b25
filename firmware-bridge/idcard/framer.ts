import { MAX_FRAME_LENGTH, MIN_FRAME_LENGTH, PREAMBLE, checkFrameAt, frameOf, startsWithPreamble } from './codec.ts';
import type { IdCardFrame } from './frame.ts';

// The framing layer of the ID-card reader: chunks in (however the serial port or a TCP serial server split
// them), complete checked frames out. It resynchronises on its own: junk before a preamble is skipped; a
// frame with an absurd LEN or a bad CHK is refused and the search for a preamble goes on from the byte after
// the refused one's start — so a frame cut short by a lost byte does not take the next, good frame down with
// it. It holds at most `maxFrameLength` bytes whatever arrives, and never throws on any input.
//
// Privacy: it copies each frame's payload into a buffer of the frame's own (so `IdCardFrame.wipe()` reaches
// every copy), and zeroes its own buffer wherever bytes leave it. It does not modify the chunks it is given;
// a driver may zero a chunk as soon as `push` returns (nothing keeps a reference to it).

export interface IdCardFramerStats {
  /** Complete, checked frames handed out. */
  readonly frames: number;
  /** Bytes that were not part of any frame handed out: junk, refused frames, and what `idle()` or `reset()` dropped. */
  readonly skippedBytes: number;
  /** Frames refused for a LEN below the shortest frame or beyond `maxFrameLength`. */
  readonly badLength: number;
  /** Frames refused for a CHK that does not match (damaged, or cut short and run into the next frame). */
  readonly badChecksum: number;
  /** Partial frames (a preamble and more) given up by `idle()` or dropped by `reset()`. */
  readonly abandoned: number;
}

export interface IdCardFramerOptions {
  /** The longest frame accepted, preamble and CHK included. Default 1295, the read-card reply. */
  readonly maxFrameLength?: number;
}

export class IdCardFramer {
  readonly maxFrameLength: number;
  readonly #buffer: Buffer;
  /** Bytes held in `#buffer[0..#held)`. */
  #held = 0;
  #stats = { frames: 0, skippedBytes: 0, badLength: 0, badChecksum: 0, abandoned: 0 };

  constructor(options: IdCardFramerOptions = {}) {
    const max = options.maxFrameLength ?? MAX_FRAME_LENGTH;
    if (!Number.isInteger(max) || max < MIN_FRAME_LENGTH || max > 0xffff + 7) {
      throw new RangeError(`maxFrameLength must be an integer from ${MIN_FRAME_LENGTH} to ${0xffff + 7}, got ${max}`);
    }
    this.maxFrameLength = max;
    this.#buffer = Buffer.alloc(max);
  }

  /** Feeds one chunk; answers the frames it completed, in order. */
  push(chunk: Uint8Array): IdCardFrame[] {
    const out: IdCardFrame[] = [];
    let taken = 0;
    while (taken < chunk.length) {
      const n = Math.min(chunk.length - taken, this.#buffer.length - this.#held);
      this.#buffer.set(chunk.subarray(taken, taken + n), this.#held);
      this.#held += n;
      taken += n;
      this.#drain(out);
    }
    return out;
  }

  /**
   * The line has gone quiet (the driver's inter-byte timeout): the frame in progress will not be completed.
   * Gives it up and looks inside it for complete frames — a stray preamble with a large LEN must not swallow
   * the real reply after it — then drops what is left. Answers the frames found; the framer is then empty.
   */
  idle(): IdCardFrame[] {
    const out: IdCardFrame[] = [];
    while (startsWithPreamble(this.#buffer.subarray(0, this.#held))) {
      this.#stats.abandoned++;
      this.#skip(1);
      this.#drain(out);
    }
    this.#skip(this.#held);
    return out;
  }

  /**
   * Drops whatever is held (a partial frame, or a tail that might start a preamble) and zeroes it. For the
   * driver to call before each request (stale bytes belong to no answer) and when a reply timed out.
   */
  reset(): void {
    if (startsWithPreamble(this.#buffer.subarray(0, this.#held))) this.#stats.abandoned++;
    this.#skip(this.#held);
  }

  /** Bytes held for a frame in progress (never more than `maxFrameLength`). */
  get pending(): number {
    return this.#held;
  }

  /** Counters since construction (a snapshot). */
  get stats(): IdCardFramerStats {
    return { ...this.#stats };
  }

  /** Hands out every complete frame in the buffer and skips what cannot be one; keeps a frame in progress. */
  #drain(out: IdCardFrame[]): void {
    for (;;) {
      const start = this.#buffer.subarray(0, this.#held).indexOf(PREAMBLE);
      if (start < 0) {
        // No preamble: keep only a tail that could be the start of one (`AA`, `AA AA`, …).
        this.#skip(this.#held - this.#preamblePrefixAtEnd());
        return;
      }
      this.#skip(start);
      const check = checkFrameAt(this.#buffer, 0, this.#held, this.maxFrameLength);
      if (check.kind === 'incomplete') return;
      if (check.kind === 'frame') {
        out.push(frameOf(this.#buffer, 0, check.frameLength));
        this.#stats.frames++;
        this.#remove(check.frameLength);
        continue;
      }
      if (check.reason === 'bad-length') this.#stats.badLength++;
      else this.#stats.badChecksum++;
      // Step over the first preamble byte only: a good frame may begin inside the refused one.
      this.#skip(1);
    }
  }

  /** How many bytes at the end of the buffer match the start of the preamble. */
  #preamblePrefixAtEnd(): number {
    for (let k = Math.min(PREAMBLE.length - 1, this.#held); k > 0; k--) {
      let match = true;
      for (let i = 0; i < k && match; i++) match = this.#buffer[this.#held - k + i] === PREAMBLE[i];
      if (match) return k;
    }
    return 0;
  }

  #skip(n: number): void {
    if (n <= 0) return;
    this.#stats.skippedBytes += n;
    this.#remove(n);
  }

  /** Removes the first `n` held bytes and zeroes the space they free. */
  #remove(n: number): void {
    this.#buffer.copyWithin(0, n, this.#held);
    this.#buffer.fill(0, this.#held - n, this.#held);
    this.#held -= n;
  }
}
