import { z } from 'zod';
import { numberIn, parseWith, type AddressProblem } from './address.ts';
import { UnsafeFrameError, describeValue, hex, startsWith, sumOf, type Candidate, type FrameMatcher, type Parsed, type SerialLine } from './frame.ts';

// Kerong KR-CU12 / KR-CU16 lock-control boards, the host's side. RS-485, 19200 8N1 by default. A request is
// `02 ADDR CMD 03 SUM` (SUM = low 8 bits of the sum of the bytes before it), ADDR = board << 4 | (lock − 1).
// Two requests exist here: `31` unlock one lock and `30` status of one board. Unlock-all (`33`) and the
// every-board broadcast (ADDR F0, `32`) have no builder, and `encodeRequest`, the one place request bytes leave
// this module, refuses them all the same (`unsafeRequestReason`). Board 15 is refused too: its ADDR would be
// F0–FF, and F0 is the bus's broadcast address.

export const LINE: SerialLine = { baudRate: 19200, dataBits: 8, parity: 'none', stopBits: 1 };

const STX = 0x02;
const ETX = 0x03;
const CMD_STATUS = 0x30;
const CMD_UNLOCK = 0x31;
const REPLY_STATUS = 0x35; // `02 ADDR 35 H1 H2 I1 I2 03 SUM`
const STATUS_LENGTH = 9;
/** The longest frame of this family (`35` and `36` replies): 4 data bytes. */
const MAX_FRAME_LENGTH = 9;

/** Boards 0–14 (rotary switch; Kerong numbers them from 0, usually up to 9). 15 would put F in ADDR's high nibble. */
export const BOARD_RANGE = { min: 0, max: 14 } as const;
/** Locks per board: 12 on a CU12, 16 on a CU16. */
export const MAX_CHANNELS = 16;

// ——— settings of a bus ———

export const settingsSchema = z.object({
  /** Which hook bit means locked: `set` = 1 (most sources) or `clear` = 0. Varies: checked at commissioning. */
  lockedWhen: z.enum(['set', 'clear'], { error: 'lockedWhen is "set" (hook bit 1 means locked, most boards) or "clear"' }).default('set'),
  /** Locks per board: 12 (KR-CU12) or 16 (KR-CU16). */
  channelsPerBoard: z.number().int().min(1).max(MAX_CHANNELS, { error: 'channelsPerBoard is 12 (CU12) or 16 (CU16)' }).default(MAX_CHANNELS),
});
export type SettingsKerong = z.output<typeof settingsSchema>;
export const DEFAULT_SETTINGS: SettingsKerong = Object.freeze(settingsSchema.parse({}));

// ——— addresses ———

declare const lockBrand: unique symbol;
declare const boardBrand: unique symbol;
/** One lock (channel 1–16) of one board (0–14). Only `parseLockAddress` makes one. */
export type LockAddressKerong = { readonly board: number; readonly channel: number; readonly [lockBrand]: true };
/** One board (0–14). Only `parseBoardAddress` makes one. */
export type BoardAddressKerong = { readonly board: number; readonly [boardBrand]: true };

const boardNumber = () => numberIn('board', BOARD_RANGE.min, BOARD_RANGE.max, 'the rotary switch; 15 is not used: F0 is the broadcast address');

/** `{ board, channel }` from the configuration → a lock address, or why not. */
export function parseLockAddress(input: unknown, settings: SettingsKerong = DEFAULT_SETTINGS): Parsed<LockAddressKerong, AddressProblem> {
  const channel = numberIn('channel', 1, Math.min(settings.channelsPerBoard, MAX_CHANNELS), 'locks count from 1 up to channelsPerBoard');
  return parseWith(z.object({ board: boardNumber(), channel }), input, (a) => Object.freeze({ board: a.board, channel: a.channel }) as LockAddressKerong);
}

/** A board number from the configuration → a board address, or why not. */
export function parseBoardAddress(board: unknown): Parsed<BoardAddressKerong, AddressProblem> {
  return parseWith(z.object({ board: boardNumber() }), { board }, (a) => Object.freeze({ board: a.board }) as BoardAddressKerong);
}

// ——— requests ———

export type OpenRequestKerong = { readonly kind: 'open'; readonly lock: LockAddressKerong };
export type QueryBoardRequestKerong = { readonly kind: 'query-board'; readonly board: BoardAddressKerong };
export type RequestKerong = OpenRequestKerong | QueryBoardRequestKerong;

/** Unlock one lock: `02 ADDR 31 03 SUM`. The reply is optional on some firmware: confirm with `queryBoard`. */
export function openLock(lock: LockAddressKerong): OpenRequestKerong {
  return Object.freeze({ kind: 'open', lock });
}

/** Ask a board for its hooks and infrared sensors: `02 ADDR 30 03 SUM`, ADDR = board << 4. */
export function queryBoard(board: BoardAddressKerong): QueryBoardRequestKerong {
  return Object.freeze({ kind: 'query-board', board });
}

/**
 * The request's five bytes, made afresh on every call and checked against the safe frames before they are
 * handed out: the one place request bytes leave this codec. Throws `UnsafeFrameError` (a bug) for a request that
 * did not come from the builders above with parsed addresses.
 */
export function encodeRequest(request: RequestKerong): Buffer {
  if (typeof request !== 'object' || request === null) throw new UnsafeFrameError('no request given');
  let address: number;
  let command: number;
  switch (request.kind) {
    case 'open':
      address = (boardOf(request.lock) << 4) | (channelOf(request.lock) - 1);
      command = CMD_UNLOCK;
      break;
    case 'query-board':
      address = boardOf(request.board) << 4;
      command = CMD_STATUS;
      break;
    default:
      throw new UnsafeFrameError(`no request of kind ${describeValue((request as { kind?: unknown }).kind)}`);
  }
  const frame = Buffer.from([STX, address, command, ETX, 0]);
  frame[4] = sumOf(frame, 4);
  assertSafeRequest(frame);
  return frame;
}

// Addresses are re-checked here because a type can be forged with a cast; a nibble out of range would spill.
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
 * Why `frame` must never be sent, or `null` when it is one of the two safe requests. An allow-list, so unlock-all
 * (`33`), the broadcast (`32`, ADDR F0), any ADDR F0–FF, a command with data, or a wrong SUM is refused.
 */
export function unsafeRequestReason(frame: Uint8Array): string | null {
  if (frame.length !== 5) return `a request is 5 bytes, not ${frame.length}`;
  if (frame[0] !== STX || frame[3] !== ETX) return 'not framed as 02 … 03';
  if (frame[4] !== sumOf(frame, 4)) return 'wrong check byte';
  const address = frame[1]!;
  const command = frame[2]!;
  if (command === 0x33) return '33 unlocks every lock of the board';
  if (address >> 4 > BOARD_RANGE.max) return `ADDR ${hex(frame.subarray(1, 2))} is the broadcast range (F0 reaches every board)`;
  if (command === CMD_UNLOCK) return null;
  if (command === CMD_STATUS) return (address & 0x0f) === 0 ? null : 'a status query names the board, lock nibble 0';
  return `command ${hex(frame.subarray(2, 3))} is not a request this codec sends`;
}

/** Throws `UnsafeFrameError` unless `frame` is a safe request. */
export function assertSafeRequest(frame: Uint8Array): void {
  const why = unsafeRequestReason(frame);
  if (why !== null) throw new UnsafeFrameError(why, frame);
}

// ——— replies ———

/** One lock as a status reply reports it: its hook, and whether the infrared sensor sees an item in its compartment. */
export type LockStateKerong = { readonly channel: number; readonly locked: boolean; readonly itemPresent: boolean };
/** A board's `35` status reply: `locks[i]` is lock i + 1, as many as the bus's `channelsPerBoard`. */
export type BoardStatusKerong = { readonly kind: 'board-status'; readonly board: number; readonly locks: readonly LockStateKerong[] };
export type ReplyKerong = BoardStatusKerong;

/**
 * The matcher for the reply to `request` (give it to a `FrameReader` before writing the request). Both requests
 * are answered by the board's `35` status frame; its ADDR's lock nibble is not relied on (firmware differs), only
 * the board. After an unlock the reply may never come: the driver waits briefly, then asks with `queryBoard`.
 */
export function expectReply(request: RequestKerong, settings: SettingsKerong = DEFAULT_SETTINGS): FrameMatcher<BoardStatusKerong> {
  const sent = encodeRequest(request);
  const board = sent[1]! >> 4;
  return {
    awaited: request.kind === 'open' ? `reply to unlock of board ${board} channel ${(sent[1]! & 0x0f) + 1}` : `status of board ${board}`,
    maxFrameLength: MAX_FRAME_LENGTH,
    classify(bytes, ended = false): Candidate<BoardStatusKerong> {
      if (bytes.length === 0) return ended ? NONE : PARTIAL;
      const ours = bytes[0] === STX && (bytes.length < 2 || bytes[1]! >> 4 === board) && (bytes.length < 3 || bytes[2] === REPLY_STATUS);
      if (!ours) return otherFrame(bytes, ended, sent);
      if (bytes.length < STATUS_LENGTH) return ended ? TRUNCATED : PARTIAL;
      if (bytes[7] === ETX && bytes[8] === sumOf(bytes, 8)) return { kind: 'match', length: STATUS_LENGTH, value: boardStatus(bytes, settings) };
      const other = otherFrame(bytes, ended, sent);
      return other.kind === 'none' ? BAD_CHECK : other;
    },
  };
}

function boardStatus(frame: Uint8Array, settings: SettingsKerong): BoardStatusKerong {
  const [hooks, items] = [frame[3]! | (frame[4]! << 8), frame[5]! | (frame[6]! << 8)];
  const locks: LockStateKerong[] = [];
  for (let channel = 1; channel <= Math.min(settings.channelsPerBoard, MAX_CHANNELS); channel++) {
    const bit = 1 << (channel - 1);
    locks.push({ channel, locked: ((hooks & bit) !== 0) === (settings.lockedWhen === 'set'), itemPresent: (items & bit) !== 0 });
  }
  return { kind: 'board-status', board: frame[1]! >> 4, locks };
}

/** A well-formed frame of this family that is not the awaited one: `02 ADDR CMD d… 03 SUM`, 0–4 data bytes. */
function otherFrame(bytes: Uint8Array, ended: boolean, sent: Uint8Array): Candidate<never> {
  if (bytes[0] !== STX) return NONE;
  for (let length = 5; length <= MAX_FRAME_LENGTH; length++) {
    if (bytes.length < length) return ended ? NONE : PARTIAL;
    if (bytes[length - 2] !== ETX || bytes[length - 1] !== sumOf(bytes, length - 1)) continue;
    if (length === sent.length && startsWith(bytes, sent)) return { kind: 'skip', length, reason: 'echo' };
    return { kind: 'skip', length, reason: bytes[1]! >> 4 === sent[1]! >> 4 ? 'unexpected' : 'wrong-address' };
  }
  return NONE;
}

const NONE: Candidate<never> = Object.freeze({ kind: 'none' });
const PARTIAL: Candidate<never> = Object.freeze({ kind: 'partial' });
const TRUNCATED: Candidate<never> = Object.freeze({ kind: 'truncated' });
const BAD_CHECK: Candidate<never> = Object.freeze({ kind: 'bad-check' });
