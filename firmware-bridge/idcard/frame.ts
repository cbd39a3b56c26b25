import { inspect } from 'node:util';

// One complete, checked frame from the ID-card reader (or to it): the payload between LEN and CHK. A read
// reply's payload holds the card's whole text block and photo, so a frame never shows its bytes when
// logged or serialised (only its length and the three status bytes at its start), and `wipe()` zeroes it.

const HEAD_SHOWN = 3;

export class IdCardFrame {
  readonly #payload: Uint8Array;

  /** Takes ownership of `payload` (no copy): the frame may zero it. */
  constructor(payload: Uint8Array) {
    this.#payload = payload;
  }

  /**
   * The payload (a view, not a copy). For a reply: SW1 SW2 SW3 then data; for a request: CMD PARA.
   * Reach into it only through the parsers in this folder; never log it.
   */
  get payload(): Uint8Array {
    return this.#payload;
  }

  get length(): number {
    return this.#payload.length;
  }

  /** Zeroes the payload (and so every view of it, e.g. a text block taken from it). */
  wipe(): void {
    this.#payload.fill(0);
  }

  /** What a log line may show: the length and the status bytes (SW1 SW2 SW3 of a reply), never the data. */
  toJSON(): { readonly length: number; readonly head: string } {
    return { length: this.length, head: hex(this.#payload.subarray(0, HEAD_SHOWN)) };
  }

  toString(): string {
    const { length, head } = this.toJSON();
    return `IdCardFrame(${length} bytes, ${head}${length > HEAD_SHOWN ? ' …' : ''})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(' ');
}
