// The framing layer of a line-framed scanner: bytes in, complete lines out. Pure and incremental — feed it
// chunks as they come off the wire. Whatever arrives, it holds at most `maxLength` bytes.

export type LineRejectReason =
  /** Longer than `maxLength` bytes: dropped whole, up to its terminator. */
  | 'too-long'
  /** Not UTF-8, or has control characters (NUL, ESC, …): line noise, a wrong baud rate, a wrong scanner mode. */
  | 'binary'
  /** The connection ended in the middle of a line (from `end()`): a half-read code is never passed on. */
  | 'unterminated';

export type FramedLine =
  | { readonly kind: 'line'; readonly text: string }
  /** `length` is the line's size in bytes on the wire; its content is never kept (it may be a credential). */
  | { readonly kind: 'rejected'; readonly reason: LineRejectReason; readonly length: number };

export const DEFAULT_MAX_LINE_LENGTH = 512;

const CR = 0x0d;
const LF = 0x0a;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
// C0 controls except tab (CR and LF never reach here), DEL and the C1 controls.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

export class LineFramer {
  readonly maxLength: number;
  readonly #line: Buffer;
  /** Bytes of the current line kept in `#line`. */
  #kept = 0;
  /** Bytes of the current line seen, kept or not. */
  #seen = 0;
  /** The current line went over `maxLength`: it is being skipped up to its terminator. */
  #overflowed = false;
  /** The last chunk ended in CR: an LF at the start of the next one belongs to that terminator. */
  #afterCr = false;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(options: { maxLength?: number } = {}) {
    const maxLength = options.maxLength ?? DEFAULT_MAX_LINE_LENGTH;
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new RangeError(`maxLength must be a positive integer, got ${maxLength}`);
    this.maxLength = maxLength;
    this.#line = Buffer.alloc(maxLength);
  }

  /** Feeds one chunk; answers the lines (and rejections) it completed, in order. */
  push(chunk: Uint8Array): FramedLine[] {
    const out: FramedLine[] = [];
    let start = 0;
    if (this.#afterCr && chunk.length > 0) {
      this.#afterCr = false;
      if (chunk[0] === LF) start = 1;
    }
    for (let i = start; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte !== CR && byte !== LF) continue;
      this.#take(chunk, start, i);
      this.#finish(out);
      if (byte === CR) {
        if (i + 1 === chunk.length) this.#afterCr = true;
        else if (chunk[i + 1] === LF) i++;
      }
      start = i + 1;
    }
    this.#take(chunk, start, chunk.length);
    return out;
  }

  /** The stream ended: drops a line still waiting for its terminator and says so (nothing if none). */
  end(): FramedLine[] {
    const out: FramedLine[] = [];
    if (this.#overflowed) out.push({ kind: 'rejected', reason: 'too-long', length: this.#seen });
    else if (this.#line.subarray(0, this.#kept).some((b) => b > 0x20)) out.push({ kind: 'rejected', reason: 'unterminated', length: this.#seen });
    this.#reset();
    this.#afterCr = false;
    return out;
  }

  /** Bytes held for the line in progress (never more than `maxLength`). */
  get pending(): number {
    return this.#kept;
  }

  #take(chunk: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (n === 0) return;
    this.#seen += n;
    if (this.#overflowed) return;
    if (this.#kept + n > this.maxLength) {
      this.#overflowed = true;
      this.#kept = 0;
      return;
    }
    this.#line.set(chunk.subarray(from, to), this.#kept);
    this.#kept += n;
  }

  #finish(out: FramedLine[]): void {
    const length = this.#seen;
    if (this.#overflowed) out.push({ kind: 'rejected', reason: 'too-long', length });
    else if (length > 0) {
      const text = this.#decode(this.#line.subarray(0, this.#kept));
      if (text === null) out.push({ kind: 'rejected', reason: 'binary', length });
      else if (text !== '') out.push({ kind: 'line', text });
    }
    this.#reset();
  }

  /** The line's text, tabs as spaces and trimmed; `null` when it is not printable UTF-8 text. */
  #decode(bytes: Buffer): string | null {
    const body = bytes.subarray(0, 3).equals(BOM) ? bytes.subarray(3) : bytes;
    let text: string;
    try {
      text = this.#decoder.decode(body);
    } catch {
      return null;
    }
    if (CONTROL.test(text)) return null;
    return text.replaceAll('\t', ' ').trim();
  }

  #reset(): void {
    this.#kept = 0;
    this.#seen = 0;
    this.#overflowed = false;
  }
}
