import { z } from 'zod';
import { numberIn, parseWith, type AddressProblem } from './address.ts';
import { UnsafeFrameError, describeValue, hex, startsWith, xorOf, type Candidate, type FrameMatcher, type Parsed, type SerialLine } from './frame.ts';

// The common 锁控板 ("8A/80" lock-control board), the host's side. RS-485 half duplex, 9600 8N1: the host asks,
// one board answers, frames end by silence. A request is five bytes `HDR BOARD CH FUNC BCC`, BCC = XOR of the
// bytes before it. Three requests exist here: open one lock, query one lock, query a whole board. The frames that
// open more than one lock — channel 00 with 8A, headers 90, 9A, 9B — have no builder, and `encodeRequest`, the
// one place request bytes leave this module, refuses them all the same (`unsafeRequestReason`).

export const LINE: SerialLine = { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 };

const OPEN = 0x8a; // header of an open and of its reply
const QUERY = 0x80; // header of a query and of its reply
const FUNCTION_OPEN = 0x11;
const FUNCTION_QUERY = 0x33; // also the trailer of a whole-board reply
const WHOLE_BOARD = 0x00; // the channel byte of a whole-board query

/** The most channels a board of this family has (2–50 seen). */
export const MAX_CHANNELS = 50;
/** Board addresses this codec ever sends to: 00 and FF are kept out because some firmware treats them as "every board". */
export const BOARD_RANGE = { min: 1, max: 254 } as const;
/**
 * Status bytes in a whole-board reply: 3 for 24 channels (also seen from an 8-channel board), 4 for 32, 7 for 50.
 * One is not accepted: `80 bb 00 33 BCC` is also the request's own echo.
 */
export const BOARD_STATUS_BYTES = { min: 2, max: 7 } as const;
const MAX_FRAME_LENGTH = 4 + BOARD_STATUS_BYTES.max;

// ——— settings of a bus (they vary between boards: checked at commissioning) ———

export const settingsSchema = z.object({
  /** Which status means the lock is latched (door shut and held): `set` = 11 / bit 1 (most boards) or `clear` = 00 / bit 0. */
  lockedWhen: z.enum(['set', 'clear'], { error: 'lockedWhen is "set" (11 or bit 1 means locked, most boards) or "clear"' }).default('set'),
  /** Which status byte of a whole-board reply holds channels 1–8 (bit 0 = channel 1): the last on most boards. */
  channelsOneToEightIn: z.enum(['last-byte', 'first-byte'], { error: 'channelsOneToEightIn is "last-byte" (most boards) or "first-byte"' }).default('last-byte'),
  /** The highest board address on the bus (DIP switches): 31 on most boards, some go higher. */
  highestBoard: z.number().int().min(BOARD_RANGE.min).max(BOARD_RANGE.max, { error: 'highestBoard is 1–254' }).default(31),
  /** Channels per board; a compartment on a higher channel is refused when the configuration is read. */
  channelsPerBoard: z.number().int().min(1).max(MAX_CHANNELS, { error: `channelsPerBoard is 1–${MAX_CHANNELS}` }).default(MAX_CHANNELS),
});
export type Settings8a80 = z.output<typeof settingsSchema>;
export const DEFAULT_SETTINGS: Settings8a80 = Object.freeze(settingsSchema.parse({}));

// ——— addresses: the only way to name a lock or a board to this codec ———

declare const lockBrand: unique symbol;
declare const boardBrand: unique symbol;
/** One lock (channel ≥ 1) of one board, within the bus's ranges. Only `parseLockAddress` makes one. */
export type LockAddress8a80 = { readonly board: number; readonly channel: number; readonly [lockBrand]: true };
/** One board of the bus. Only `parseBoardAddress` makes one. */
export type BoardAddress8a80 = { readonly board: number; readonly [boardBrand]: true };

const BOARD_HINT = 'the DIP-switch address; raise highestBoard for a board set higher';
const boardNumber = (settings: Settings8a80) => numberIn('board', BOARD_RANGE.min, Math.min(settings.highestBoard, BOARD_RANGE.max), BOARD_HINT);

/** `{ board, channel }` from the configuration → a lock address, or why not. Channel 0 (every lock) never parses. */
export function parseLockAddress(input: unknown, settings: Settings8a80 = DEFAULT_SETTINGS): Parsed<LockAddress8a80, AddressProblem> {
  const channel = numberIn('channel', 1, Math.min(settings.channelsPerBoard, MAX_CHANNELS), 'channels count from 1 up to channelsPerBoard');
  const schema = z.object({ board: boardNumber(settings), channel });
  return parseWith(schema, input, (a) => Object.freeze({ board: a.board, channel: a.channel }) as LockAddress8a80);
}

/** A board number from the configuration → a board address, or why not. */
export function parseBoardAddress(board: unknown, settings: Settings8a80 = DEFAULT_SETTINGS): Parsed<BoardAddress8a80, AddressProblem> {
  return parseWith(z.object({ board: boardNumber(settings) }), { board }, (a) => Object.freeze({ board: a.board }) as BoardAddress8a80);
}

// ——— requests ———

export type OpenRequest8a80 = { readonly kind: 'open'; readonly lock: LockAddress8a80 };
export type QueryLockRequest8a80 = { readonly kind: 'query-lock'; readonly lock: LockAddress8a80 };
export type QueryBoardRequest8a80 = { readonly kind: 'query-board'; readonly board: BoardAddress8a80 };
export type Request8a80 = OpenRequest8a80 | QueryLockRequest8a80 | QueryBoardRequest8a80;

/** Open one lock: `8A bb cc 11 BCC`. The board fires the latch; whether the door opened comes from polling. */
export function openLock(lock: LockAddress8a80): OpenRequest8a80 {
  return Object.freeze({ kind: 'open', lock });
}

/** Ask one lock's feedback contact: `80 bb cc 33 BCC`. */
export function queryLock(lock: LockAddress8a80): QueryLockRequest8a80 {
  return Object.freeze({ kind: 'query-lock', lock });
}

/** Ask every lock of a board at once: `80 bb 00 33 BCC`. */
export function queryBoard(board: BoardAddress8a80): QueryBoardRequest8a80 {
  return Object.freeze({ kind: 'query-board', board });
}

/**
 * The request's five bytes, made afresh on every call and checked against the safe frames before they are
 * handed out: the one place request bytes leave this codec. Throws `UnsafeFrameError` (a bug) for a request that
 * did not come from the builders above with parsed addresses.
 */
export function encodeRequest(request: Request8a80): Buffer {
  if (typeof request !== 'object' || request === null) throw new UnsafeFrameError('no request given');
  const frame = Buffer.alloc(5);
  switch (request.kind) {
    case 'open':
      frame.set([OPEN, boardOf(request.lock), channelOf(request.lock), FUNCTION_OPEN]);
      break;
    case 'query-lock':
      frame.set([QUERY, boardOf(request.lock), channelOf(request.lock), FUNCTION_QUERY]);
      break;
    case 'query-board':
      frame.set([QUERY, boardOf(request.board), WHOLE_BOARD, FUNCTION_QUERY]);
      break;
    default:
      throw new UnsafeFrameError(`no request of kind ${describeValue((request as { kind?: unknown }).kind)}`);
  }
  frame[4] = xorOf(frame, 4);
  assertSafeRequest(frame);
  return frame;
}

// Addresses are re-checked here because a type can be forged with a cast; a byte out of range would wrap.
function boardOf(address: unknown): number {
  const board: unknown = typeof address === 'object' && address !== null ? (address as { board?: unknown }).board : undefined;
  if (typeof board !== 'number' || !Number.isInteger(board) || board < BOARD_RANGE.min || board > BOARD_RANGE.max) {
    throw new UnsafeFrameError(`board ${describeValue(board)} is not an address this codec sends to`);
  }
  return board;
}

function channelOf(address: unknown): number {
  const channel: unknown = typeof address === 'object' && address !== null ? (address as { channel?: unknown }).channel : undefined;
  if (typeof channel !== 'number' || !Number.isInteger(channel) || channel < 1 || channel > MAX_CHANNELS) {
    throw new UnsafeFrameError(`channel ${describeValue(channel)} is not one lock`);
  }
  return channel;
}

/**
 * Why `frame` must never be sent, or `null` when it is one of the three safe requests. An allow-list, so any
 * frame not built here — open-all (8A with channel 00), multi-open (90), hold-on (9A, 9B), a wrong check byte,
 * board 00 or FF — is refused. Emulators use it to flag a forbidden frame they hear.
 */
export function unsafeRequestReason(frame: Uint8Array): string | null {
  if (frame.length !== 5) return `a request is 5 bytes, not ${frame.length}`;
  const header = frame[0]!;
  const board = frame[1]!;
  const channel = frame[2]!;
  const fn = frame[3]!;
  if (frame[4] !== xorOf(frame, 4)) return 'wrong check byte';
  if (header === OPEN) {
    if (channel === WHOLE_BOARD) return 'channel 00 with 8A opens every lock of the board';
    if (fn !== FUNCTION_OPEN) return `8A with function ${hex(frame.subarray(3, 4))} is not an open of one lock`;
  } else if (header === QUERY) {
    if (fn !== FUNCTION_QUERY) return `80 with function ${hex(frame.subarray(3, 4))} is not a query`;
  } else {
    return `header ${hex(frame.subarray(0, 1))} is not a request this codec sends (90, 9A and 9B open several locks)`;
  }
  if (board < BOARD_RANGE.min || board > BOARD_RANGE.max) return `board ${hex(frame.subarray(1, 2))} may reach every board`;
  if (channel > MAX_CHANNELS) return `no channel ${channel} on a board of this family`;
  return null;
}

/** Throws `UnsafeFrameError` unless `frame` is a safe request. */
export function assertSafeRequest(frame: Uint8Array): void {
  const why = unsafeRequestReason(frame);
  if (why !== null) throw new UnsafeFrameError(why, frame);
}

// ——— replies ———

/**
 * The board's answer to an open: it fired the latch. `status` is the byte it sent (00 on boards seen; its meaning
 * varies, and a byte-for-byte copy of the request, status 11, is taken as the answer too: some boards send it).
 */
export type OpenReply8a80 = { readonly kind: 'opened'; readonly board: number; readonly channel: number; readonly status: number };
/** One lock's feedback contact; `status` is the byte sent (00 or 11 seen; any non-zero byte counts as "set"). */
export type LockStatus8a80 = { readonly kind: 'lock-status'; readonly board: number; readonly channel: number; readonly locked: boolean; readonly status: number };
export type LockState8a80 = { readonly channel: number; readonly locked: boolean };
/** A whole board: `locks[i]` is channel i + 1, 8 per status byte — possibly more channels than the board has. */
export type BoardStatus8a80 = { readonly kind: 'board-status'; readonly board: number; readonly statusBytes: number; readonly locks: readonly LockState8a80[] };
export type Reply8a80 = OpenReply8a80 | LockStatus8a80 | BoardStatus8a80;

/** The reply that answers a request of type `Q`. */
export type ReplyTo8a80<Q extends Request8a80> = Q extends OpenRequest8a80 ? OpenReply8a80 : Q extends QueryLockRequest8a80 ? LockStatus8a80 : BoardStatus8a80;

export interface ReplyOptions {
  /**
   * The status-byte count of this board's whole-board replies, once known (it does not change for a board).
   * Without it the shortest length whose trailer and BCC fit is taken: a status byte 33 followed by one equal
   * to the XOR of the bytes before it would then cut the reply short (about 1 in 256 replies holding a 33).
   */
  readonly statusBytes?: number;
}

/**
 * The matcher for the reply to `request` (give it to a `FrameReader` before writing the request): it knows the
 * header, board, channel and length rule of that reply, and tells frames for other boards or locks, late replies
 * and the request's echo from it.
 */
export function expectReply<Q extends Request8a80>(request: Q, settings: Settings8a80 = DEFAULT_SETTINGS, options: ReplyOptions = {}): FrameMatcher<ReplyTo8a80<Q>> {
  const sent = encodeRequest(request);
  const board = sent[1]!;
  if (request.kind !== 'query-board') return oneLockReply(sent, settings) as FrameMatcher<ReplyTo8a80<Q>>;
  const pinned = options.statusBytes;
  if (pinned !== undefined && !(Number.isInteger(pinned) && pinned >= BOARD_STATUS_BYTES.min && pinned <= BOARD_STATUS_BYTES.max)) {
    throw new RangeError(`statusBytes is ${BOARD_STATUS_BYTES.min}–${BOARD_STATUS_BYTES.max}, got ${pinned}`);
  }
  const range = { min: pinned ?? BOARD_STATUS_BYTES.min, max: pinned ?? BOARD_STATUS_BYTES.max };
  const matcher: FrameMatcher<BoardStatus8a80> = {
    awaited: `status of board ${board}`,
    maxFrameLength: MAX_FRAME_LENGTH,
    classify(bytes, ended = false) {
      if (bytes.length === 0) return ended ? NONE : PARTIAL;
      if (bytes[0] !== QUERY || (bytes.length > 1 && bytes[1] !== board)) return otherFrame(bytes, ended, sent, null);
      const found = boardReplyLength(bytes, range.min, range.max);
      if (found.kind === 'frame') return { kind: 'match', length: found.length, value: boardStatus(bytes.subarray(0, found.length), settings) };
      if (found.kind === 'more' && !ended) return PARTIAL;
      // Not a whole-board reply (or the bytes ended): perhaps another frame of this board, else damaged.
      const other = otherFrame(bytes, ended, sent, null);
      if (other.kind !== 'none') return other;
      if (found.kind === 'bad-check' || (found.kind === 'more' && found.sawTrailer)) return BAD_CHECK;
      return found.kind === 'more' ? TRUNCATED : NONE;
    },
  };
  return matcher as FrameMatcher<ReplyTo8a80<Q>>;
}

/** The 5-byte reply to an open (`8A bb cc ss`) or to a one-lock query (`80 bb cc ss`). */
function oneLockReply(sent: Buffer, settings: Settings8a80): FrameMatcher<OpenReply8a80 | LockStatus8a80> {
  const [header, board, channel] = [sent[0]!, sent[1]!, sent[2]!];
  return {
    awaited: `${header === OPEN ? 'reply to open of' : 'status of'} board ${board} channel ${channel}`,
    maxFrameLength: MAX_FRAME_LENGTH,
    classify(bytes, ended = false) {
      if (bytes.length === 0) return ended ? NONE : PARTIAL;
      const ours = bytes[0] === header && (bytes.length < 2 || bytes[1] === board) && (bytes.length < 3 || bytes[2] === channel);
      if (!ours) return otherFrame(bytes, ended, sent, channel);
      if (bytes.length < 5) return ended ? TRUNCATED : PARTIAL;
      if (bytes[4] !== xorOf(bytes, 4)) return otherOr(otherFrame(bytes, ended, sent, channel), BAD_CHECK);
      const status = bytes[3]!;
      if (header === OPEN) return { kind: 'match', length: 5, value: { kind: 'opened', board, channel, status } };
      // A status of 33 makes the frame the query itself: an echo, never a board's answer.
      if (startsWith(bytes, sent)) return { kind: 'skip', length: 5, reason: 'echo' };
      return { kind: 'match', length: 5, value: { kind: 'lock-status', board, channel, status, locked: (status !== 0) === (settings.lockedWhen === 'set') } };
    },
  };
}

type BoardReplyLength = { kind: 'frame'; length: number } | { kind: 'more'; sawTrailer: boolean } | { kind: 'bad-check' } | { kind: 'none' };

/** The length of a whole-board reply `80 bb S… 33 BCC` at the start of `bytes`, trying the shortest first. */
function boardReplyLength(bytes: Uint8Array, min: number, max: number): BoardReplyLength {
  let sawTrailer = false;
  for (let n = min; n <= max; n++) {
    const length = 4 + n;
    if (bytes.length < length) return { kind: 'more', sawTrailer };
    if (bytes[length - 2] !== FUNCTION_QUERY) continue;
    if (bytes[length - 1] === xorOf(bytes, length - 1)) return { kind: 'frame', length };
    sawTrailer = true;
  }
  return sawTrailer ? { kind: 'bad-check' } : { kind: 'none' };
}

function boardStatus(frame: Uint8Array, settings: Settings8a80): BoardStatus8a80 {
  const statusBytes = frame.length - 4;
  const status = frame.subarray(2, 2 + statusBytes);
  const locks: LockState8a80[] = [];
  for (let channel = 1; channel <= statusBytes * 8; channel++) {
    const group = Math.floor((channel - 1) / 8);
    const byte = status[settings.channelsOneToEightIn === 'first-byte' ? group : statusBytes - 1 - group]!;
    const set = ((byte >> ((channel - 1) % 8)) & 1) === 1;
    locks.push({ channel, locked: set === (settings.lockedWhen === 'set') });
  }
  return { kind: 'board-status', board: frame[1]!, statusBytes, locks };
}

/**
 * A well-formed frame of this family that is not the awaited one: any 5-byte frame, or a whole-board reply.
 * `channel` is the awaited lock (null for a whole board): a 5-byte frame of the same board for another channel
 * is for another lock.
 */
function otherFrame(bytes: Uint8Array, ended: boolean, sent: Uint8Array, channel: number | null): Candidate<never> {
  if (bytes[0] !== OPEN && bytes[0] !== QUERY) return NONE;
  let more = bytes.length < 5;
  if (!more && bytes[4] === xorOf(bytes, 4)) {
    if (startsWith(bytes, sent)) return { kind: 'skip', length: 5, reason: 'echo' };
    const elsewhere = bytes[1] !== sent[1] || (channel !== null && bytes[2] !== channel);
    return { kind: 'skip', length: 5, reason: elsewhere ? 'wrong-address' : 'unexpected' };
  }
  if (bytes[0] === QUERY) {
    const found = boardReplyLength(bytes, BOARD_STATUS_BYTES.min, BOARD_STATUS_BYTES.max);
    if (found.kind === 'frame') return { kind: 'skip', length: found.length, reason: bytes[1] !== sent[1] ? 'wrong-address' : 'unexpected' };
    more ||= found.kind === 'more';
  }
  return more && !ended ? PARTIAL : NONE;
}

/** `other` when it is a well-formed frame (or may become one), else `fallback`. */
function otherOr(other: Candidate<never>, fallback: Candidate<never>): Candidate<never> {
  return other.kind === 'none' ? fallback : other;
}

const NONE: Candidate<never> = Object.freeze({ kind: 'none' });
const PARTIAL: Candidate<never> = Object.freeze({ kind: 'partial' });
const TRUNCATED: Candidate<never> = Object.freeze({ kind: 'truncated' });
const BAD_CHECK: Candidate<never> = Object.freeze({ kind: 'bad-check' });
