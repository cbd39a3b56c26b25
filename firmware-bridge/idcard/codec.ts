import { IdCardFrame, hex } from './frame.ts';
import { STATUS_CODES, statusOf, type IdCardStatus, type KnownIdCardStatus } from './status.ts';

// The resident ID-card reader's wire format (二代证 SAM module, HARDWARE.md §3):
//
//   AA AA AA 96 69 | LEN1 LEN2 | payload | CHK
//
// LEN is big-endian and counts the bytes after it, CHK included; CHK is the XOR of LEN1 through the last
// payload byte. A request's payload is CMD PARA; a reply's is SW1 SW2 SW3 then data, SW3 being the result.
// Pure functions over bytes. What comes from the wire is never trusted: a bad frame is a value with a
// reason, not an exception. Exceptions are kept for bugs in our own calls (encoding an impossible frame).

export const PREAMBLE: Readonly<Uint8Array> = Uint8Array.of(0xaa, 0xaa, 0xaa, 0x96, 0x69);
/** Preamble, LEN1, LEN2. */
export const HEADER_LENGTH = PREAMBLE.length + 2;
/** The shortest payload: a request's CMD PARA (a reply has at least SW1 SW2 SW3). */
export const MIN_PAYLOAD_LENGTH = 2;
/** The shortest whole frame. */
export const MIN_FRAME_LENGTH = HEADER_LENGTH + MIN_PAYLOAD_LENGTH + 1;
/**
 * The longest frame the cabinet ever expects: the reply to read-card (SW 3 + lengths 4 + text 256 + photo
 * 1024 + CHK, after the 7-byte header). Readers also know a read-with-fingerprint command with longer replies;
 * the cabinet never sends it.
 */
export const MAX_FRAME_LENGTH = 1295;
/** The largest payload LEN can express (LEN counts the CHK too). */
const MAX_ENCODABLE_PAYLOAD = 0xffff - 1;

/** XOR of `bytes[from..to)`. */
export function checksum(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let x = 0;
  for (let i = from; i < to; i++) x ^= bytes[i]!;
  return x;
}

/** A whole frame around `payload`. Throws RangeError for a payload no frame can carry (a bug of the caller). */
export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length < 1 || payload.length > MAX_ENCODABLE_PAYLOAD) {
    throw new RangeError(`an ID-card reader frame carries 1–${MAX_ENCODABLE_PAYLOAD} payload bytes, got ${payload.length}`);
  }
  const len = payload.length + 1;
  const frame = Buffer.alloc(HEADER_LENGTH + len);
  frame.set(PREAMBLE, 0);
  frame.writeUInt16BE(len, PREAMBLE.length);
  frame.set(payload, HEADER_LENGTH);
  frame[frame.length - 1] = checksum(frame, PREAMBLE.length, frame.length - 1);
  return frame;
}

/** Why a frame that starts with the preamble is refused. */
export type FrameRefusal =
  /** LEN is below the shortest frame or would make the frame longer than the largest allowed. */
  | 'bad-length'
  /** CHK does not match: bytes were lost or damaged on the way (or LEN was wrong and CHK is some other byte). */
  | 'bad-checksum';

export type FrameCheck =
  | { readonly kind: 'frame'; readonly frameLength: number }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'refused'; readonly reason: FrameRefusal };

/**
 * Checks the frame that starts at `start` (where the preamble is) with `bytes[start..end)` available.
 * `incomplete` when more bytes are needed to tell. The building block of the framer and `decodeFrame`.
 */
export function checkFrameAt(bytes: Uint8Array, start: number, end: number, maxFrameLength = MAX_FRAME_LENGTH): FrameCheck {
  if (end - start < HEADER_LENGTH) return { kind: 'incomplete' };
  const len = (bytes[start + PREAMBLE.length]! << 8) | bytes[start + PREAMBLE.length + 1]!;
  const frameLength = HEADER_LENGTH + len;
  if (frameLength < MIN_FRAME_LENGTH || frameLength > maxFrameLength) return { kind: 'refused', reason: 'bad-length' };
  if (end - start < frameLength) return { kind: 'incomplete' };
  const chk = bytes[start + frameLength - 1]!;
  if (checksum(bytes, start + PREAMBLE.length, start + frameLength - 1) !== chk) return { kind: 'refused', reason: 'bad-checksum' };
  return { kind: 'frame', frameLength };
}

export function startsWithPreamble(bytes: Uint8Array, at = 0): boolean {
  for (let i = 0; i < PREAMBLE.length; i++) if (bytes[at + i] !== PREAMBLE[i]) return false;
  return true;
}

export type DecodedFrame =
  | { readonly ok: true; readonly frame: IdCardFrame }
  | { readonly ok: false; readonly reason: FrameRefusal | 'no-preamble' | 'truncated' | 'trailing-bytes' };

/**
 * Decodes bytes that should be exactly one frame (a captured reply, an emulator's request). A stream of
 * chunks goes through `IdCardFramer` instead. The frame's payload is a copy: `bytes` is left as it was.
 */
export function decodeFrame(bytes: Uint8Array, options: { maxFrameLength?: number } = {}): DecodedFrame {
  if (!startsWithPreamble(bytes)) return { ok: false, reason: 'no-preamble' };
  const check = checkFrameAt(bytes, 0, bytes.length, options.maxFrameLength ?? MAX_FRAME_LENGTH);
  if (check.kind === 'incomplete') return { ok: false, reason: 'truncated' };
  if (check.kind === 'refused') return { ok: false, reason: check.reason };
  if (check.frameLength !== bytes.length) return { ok: false, reason: 'trailing-bytes' };
  return { ok: true, frame: frameOf(bytes, 0, check.frameLength) };
}

/** A frame owning a fresh copy of the payload of the checked frame at `bytes[start..start+frameLength)`. */
export function frameOf(bytes: Uint8Array, start: number, frameLength: number): IdCardFrame {
  // Buffer.alloc, not Buffer.from/allocUnsafe: those may share Node's pool slab, which `wipe()` could not
  // clear of the card's data.
  const payload = Buffer.alloc(frameLength - HEADER_LENGTH - 1);
  payload.set(bytes.subarray(start + HEADER_LENGTH, start + frameLength - 1));
  return new IdCardFrame(payload);
}

// ---------------------------------------------------------------------------------------------------------
// Requests: the only three the cabinet sends

export type IdCardCommand = 'find-card' | 'select-card' | 'read-card';

/** CMD PARA of each request; `read-card` reads the text block and the photo (never the fingerprints). */
export const COMMAND_CODES: Readonly<Record<IdCardCommand, readonly [cmd: number, para: number]>> = {
  'find-card': [0x20, 0x01],
  'select-card': [0x20, 0x02],
  'read-card': [0x30, 0x01],
};

/** The request frame, fresh each call: find-card is `AA AA AA 96 69 00 03 20 01 22`. */
export function encodeRequest(command: IdCardCommand): Buffer {
  return encodeFrame(Uint8Array.from(COMMAND_CODES[command]));
}

export type ParsedRequest =
  | { readonly ok: true; readonly command: IdCardCommand }
  /** `code` is the payload in hex (a request carries no personal data). */
  | { readonly ok: false; readonly reason: 'unknown-command'; readonly code: string };

/** Which request a frame is (for an emulator of the reader). */
export function parseRequest(frame: IdCardFrame): ParsedRequest {
  const p = frame.payload;
  for (const [command, [cmd, para]] of Object.entries(COMMAND_CODES) as [IdCardCommand, readonly [number, number]][]) {
    if (p.length === 2 && p[0] === cmd && p[1] === para) return { ok: true, command };
  }
  return { ok: false, reason: 'unknown-command', code: hex(p.subarray(0, 8)) };
}

// ---------------------------------------------------------------------------------------------------------
// Replies: SW1 SW2 SW3 then data

const SW_LENGTH = 3;

export interface ReplyHeader {
  readonly sw1: number;
  readonly sw2: number;
  /** The result byte. */
  readonly sw3: number;
  /** SW3 by name (`unknown` for a code the manuals do not list; `sw3` still has it). */
  readonly status: IdCardStatus;
  /** Bytes of data after the status bytes. */
  readonly dataLength: number;
}

export type ParsedReplyHeader =
  | { readonly ok: true; readonly header: ReplyHeader }
  | { readonly ok: false; readonly reason: 'too-short' };

/**
 * The status of a reply. Enough for find-card (`card-found` / `no-card`) and select-card (`ok` /
 * `select-failed`); a read-card reply goes to `parseReadReply`, which also takes the ID number out of it.
 */
export function readReplyHeader(frame: IdCardFrame): ParsedReplyHeader {
  const p = frame.payload;
  if (p.length < SW_LENGTH) return { ok: false, reason: 'too-short' };
  const sw3 = p[2]!;
  return { ok: true, header: { sw1: p[0]!, sw2: p[1]!, sw3, status: statusOf(sw3), dataLength: p.length - SW_LENGTH } };
}

/**
 * A reply frame with SW1 = SW2 = 00 (for an emulator and tests). `status` is a name or a raw SW3 byte.
 * No card: `encodeReply('no-card')` is `AA AA AA 96 69 00 04 00 00 80 84`.
 */
export function encodeReply(status: KnownIdCardStatus | number, data: Uint8Array = new Uint8Array(0)): Buffer {
  const sw3 = typeof status === 'number' ? status : STATUS_CODES[status];
  const payload = Buffer.alloc(SW_LENGTH + data.length);
  payload[2] = sw3;
  payload.set(data, SW_LENGTH);
  const frame = encodeFrame(payload);
  payload.fill(0);
  return frame;
}
