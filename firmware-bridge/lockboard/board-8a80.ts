import {
  BOARD_STATUS_BYTES,
  DEFAULT_SETTINGS,
  openLock,
  parseBoardAddress,
  parseLockAddress,
  queryBoard,
  queryLock,
  unsafeRequestReason,
  type BoardAddress8a80,
  type LockAddress8a80,
  type Request8a80,
  type Settings8a80,
} from './codec-8a80.ts';
import { hex, xorOf, type Candidate, type FrameMatcher } from './frame.ts';

// The board's side of the 8A/80 protocol, for emulators and tests: hear a request, say a reply. A host never
// needs this file. Replies go from a board to the host, so none of them is checked against the request guard.

/** A request heard on the bus, or one a board must refuse: forbidden (opens several locks, wrong board 00/FF …) or out of the bus's ranges. */
export type HeardRequest8a80 = Request8a80 | { readonly kind: 'refused'; readonly reason: string; readonly frame: string };

// Every header a host could send: the three this codec builds and the multi-open ones, so an emulator notices them.
const REQUEST_HEADERS = new Set([0x80, 0x8a, 0x90, 0x9a, 0x9b]);

/** The matcher for any 5-byte request with a good BCC; a forbidden one is a `refused` value, not skipped. */
export function expectRequest(settings: Settings8a80 = DEFAULT_SETTINGS): FrameMatcher<HeardRequest8a80> {
  return {
    awaited: 'a request',
    maxFrameLength: 5,
    classify(bytes, ended = false): Candidate<HeardRequest8a80> {
      if (bytes.length === 0) return { kind: ended ? 'none' : 'partial' };
      if (!REQUEST_HEADERS.has(bytes[0]!)) return { kind: 'none' };
      if (bytes.length < 5) return { kind: ended ? 'truncated' : 'partial' };
      if (bytes[4] !== xorOf(bytes, 4)) return { kind: 'bad-check' };
      return { kind: 'match', length: 5, value: heard(bytes.subarray(0, 5), settings) };
    },
  };
}

function heard(frame: Uint8Array, settings: Settings8a80): HeardRequest8a80 {
  const refused = (reason: string): HeardRequest8a80 => ({ kind: 'refused', reason, frame: hex(frame) });
  const why = unsafeRequestReason(frame);
  if (why !== null) return refused(why);
  const [header, board, channel] = [frame[0]!, frame[1]!, frame[2]!];
  if (channel === 0) {
    const address = parseBoardAddress(board, settings);
    return address.ok ? queryBoard(address.value) : refused(address.message);
  }
  const address = parseLockAddress({ board, channel }, settings);
  if (!address.ok) return refused(address.message);
  return header === 0x8a ? openLock(address.value) : queryLock(address.value);
}

// Addresses re-checked: a forged one (a cast) must not put channel 00, or no channel at all, in an 8A frame.
function lockBytes(lock: LockAddress8a80, settings: Settings8a80): [number, number] {
  const parsed = parseLockAddress(lock, settings);
  if (!parsed.ok) throw new RangeError(parsed.message);
  return [parsed.value.board, parsed.value.channel];
}

function boardByte(board: BoardAddress8a80, settings: Settings8a80): number {
  const parsed = parseBoardAddress(typeof board === 'object' && board !== null ? board.board : undefined, settings);
  if (!parsed.ok) throw new RangeError(parsed.message);
  return parsed.value.board;
}

function withBcc(bytes: number[]): Buffer {
  const frame = Buffer.from([...bytes, 0]);
  frame[frame.length - 1] = xorOf(frame, frame.length - 1);
  return frame;
}

/** `8A bb cc ss BCC`: the board fired `lock`. `status` is 00 on boards seen. */
export function encodeOpenReply(lock: LockAddress8a80, status = 0x00, settings: Settings8a80 = DEFAULT_SETTINGS): Buffer {
  if (!Number.isInteger(status) || status < 0 || status > 0xff) throw new RangeError(`a status is one byte, got ${status}`);
  return withBcc([0x8a, ...lockBytes(lock, settings), status]);
}

/** `80 bb cc ss BCC`: one lock's feedback contact, 11 or 00 as the bus's `lockedWhen` says. */
export function encodeLockStatus(lock: LockAddress8a80, locked: boolean, settings: Settings8a80 = DEFAULT_SETTINGS): Buffer {
  return withBcc([0x80, ...lockBytes(lock, settings), locked === (settings.lockedWhen === 'set') ? 0x11 : 0x00]);
}

/**
 * `80 bb S… 33 BCC`: a whole board, `locked[i]` being channel i + 1, in `statusBytes` status bytes (3 by
 * default, as 24-channel boards and smaller send; more when `locked` needs them), ordered as the bus's settings say.
 * Channels past the last one given send bit 0 (no contact).
 */
export function encodeBoardStatus(board: BoardAddress8a80, locked: readonly boolean[], settings: Settings8a80 = DEFAULT_SETTINGS, statusBytes = Math.max(3, Math.ceil(locked.length / 8))): Buffer {
  if (!Number.isInteger(statusBytes) || statusBytes < BOARD_STATUS_BYTES.min || statusBytes > BOARD_STATUS_BYTES.max || statusBytes * 8 < locked.length) {
    throw new RangeError(`${locked.length} channels do not fit ${statusBytes} status bytes (${BOARD_STATUS_BYTES.min}–${BOARD_STATUS_BYTES.max})`);
  }
  const status = new Array<number>(statusBytes).fill(0);
  locked.forEach((isLocked, index) => {
    const group = Math.floor(index / 8);
    const at = settings.channelsOneToEightIn === 'first-byte' ? group : statusBytes - 1 - group;
    if (isLocked === (settings.lockedWhen === 'set')) status[at]! |= 1 << (index % 8);
  });
  return withBcc([0x80, boardByte(board, settings), ...status, 0x33]);
}
