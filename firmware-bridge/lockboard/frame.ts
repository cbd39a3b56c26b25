// What the lock-board codecs share: check bytes, the frame-matcher contract that the frame reader drives, whole-
// frame decoding, and the error a codec throws when it is about to emit a request it must never send.

/** XOR of `bytes[0..end)`: the 8A/80 board's BCC. */
export function xorOf(bytes: Uint8Array, end = bytes.length): number {
  let x = 0;
  for (let i = 0; i < end; i++) x ^= bytes[i]!;
  return x;
}

/** The low 8 bits of the sum of `bytes[0..end)`: Kerong's SUM. */
export function sumOf(bytes: Uint8Array, end = bytes.length): number {
  let s = 0;
  for (let i = 0; i < end; i++) s += bytes[i]!;
  return s & 0xff;
}

/** `8A 01 01 11 9B`: bytes as the hardware sheets write them, for logs and messages. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}

/** A value named in a message, safely: whatever a forged request holds, naming it must not throw. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 20));
  return `(${typeof value})`;
}

/** True when `bytes` starts with exactly the bytes of `frame`. */
export function startsWith(bytes: Uint8Array, frame: Uint8Array): boolean {
  if (bytes.length < frame.length) return false;
  for (let i = 0; i < frame.length; i++) if (bytes[i] !== frame[i]) return false;
  return true;
}

/** Why a well-formed frame (good check byte) is not the one awaited. */
export type SkipReason =
  /** From (or for) another board, or another lock of the same board. */
  | 'wrong-address'
  /** From the right board but answering something else, e.g. the late reply to an earlier request. */
  | 'unexpected'
  /** The request itself, heard back (some RS-485 adapters hear their own transmission). */
  | 'echo';

/** What a matcher sees at one position of the byte stream. */
export type Candidate<T> =
  /** No frame of this protocol starts here: a stray byte. */
  | { readonly kind: 'none' }
  /** Could be a frame; more bytes will tell. Never answered when the bytes have `ended`. */
  | { readonly kind: 'partial' }
  /** The start of the awaited frame, cut off where the bytes ended (only answered when they have `ended`). */
  | { readonly kind: 'truncated' }
  /** Header and address of the awaited frame, but a wrong check byte (or trailer): damaged on the wire. */
  | { readonly kind: 'bad-check' }
  /** A well-formed frame, `length` bytes, that is not the awaited one. */
  | { readonly kind: 'skip'; readonly length: number; readonly reason: SkipReason }
  /** The awaited frame, `length` bytes, decoded. */
  | { readonly kind: 'match'; readonly length: number; readonly value: T };

/**
 * Knows one awaited frame (the reply to a given request, or for an emulator, any request to it) and recognises
 * it at the start of a byte stream. The caller says what it expects because these frames end by silence and
 * some have no length field: the frame's shape is known only from the request it answers.
 *
 * `classify` is pure, never throws, looks at no more than `maxFrameLength` bytes, and answers `partial` only
 * while fewer than `maxFrameLength` bytes are given. With `ended`, no more bytes will come: it never answers
 * `partial` then (a cut-off awaited frame is `truncated`, anything else `none`).
 */
export interface FrameMatcher<T> {
  /** What is awaited, for logs: "reply to open board 1 channel 3". */
  readonly awaited: string;
  readonly maxFrameLength: number;
  classify(bytes: Uint8Array, ended?: boolean): Candidate<T>;
}

export type FrameProblem = 'not-a-frame' | 'truncated' | 'bad-check' | 'trailing-bytes' | SkipReason;

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: FrameProblem };

/**
 * Decodes one whole frame (exactly the bytes given) as `matcher` awaits it. For emulators and tests; a live
 * stream goes through `FrameReader`, which also skips junk before the frame.
 */
export function decodeFrame<T>(matcher: FrameMatcher<T>, frame: Uint8Array): Decoded<T> {
  const candidate = matcher.classify(frame, true);
  switch (candidate.kind) {
    case 'match':
      return candidate.length === frame.length ? { ok: true, value: candidate.value } : { ok: false, reason: 'trailing-bytes' };
    case 'skip':
      return { ok: false, reason: candidate.reason };
    case 'bad-check':
    case 'truncated':
      return { ok: false, reason: candidate.kind };
    case 'none':
    case 'partial':
      return { ok: false, reason: 'not-a-frame' };
  }
}

/**
 * A codec was about to emit a request that is not on its list of safe frames (one that could open more than
 * one lock, reach every board, or carry a wrong check byte). Always a bug in the caller or the codec — an
 * address that came from `parseLockAddress` can never cause it — so it is thrown, not returned.
 */
export class UnsafeFrameError extends Error {
  override readonly name = 'UnsafeFrameError';
  /** The refused frame as hex, or `null` when the request could not even be turned into bytes. */
  readonly frame: string | null;

  constructor(message: string, frame: Uint8Array | null = null) {
    super(frame === null ? message : `${message}: refused to send ${hex(frame)}`);
    this.frame = frame === null ? null : hex(frame);
  }
}

/** The result of parsing an address from configuration: a typed value, or a reason a clerk can act on. */
export type Parsed<T, Reason extends string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: Reason; readonly message: string };

/** The serial line a protocol runs on. */
export interface SerialLine {
  readonly baudRate: number;
  readonly dataBits: 8;
  readonly parity: 'none';
  readonly stopBits: 1;
}
