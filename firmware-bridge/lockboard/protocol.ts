import type { Candidate, FrameMatcher, SerialLine } from './frame.ts';
import type { Settings8a80 } from './codec-8a80.ts';
import type { SettingsKerong } from './codec-kerong.ts';

// What the bus driver needs from a board family, whatever its frames: the open of one lock, the queries that
// read a board's locks, and the ranges its addresses live in. One adapter per codec (./protocol-8a80.ts,
// ./protocol-kerong.ts); the driver (./lockboard-board.ts) and the probe (./probe.ts) know only this.

export const PROTOCOLS = ['8a80', 'kerong-cu'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

/** A bus's protocol and the codec settings that vary between boards (checked at commissioning). */
export type ProtocolChoice =
  | ({ readonly protocol: '8a80'; /** Poll with one whole-board query (default) or one query per lock. */ readonly pollEach?: 'board' | 'lock' } & Partial<Settings8a80>)
  | ({ readonly protocol: 'kerong-cu' } & Partial<SettingsKerong>);

/** One lock as a status reply reports it: its feedback contact (the door: latched = shut) and, on Kerong, the item sensor. */
export interface LockReading {
  readonly channel: number;
  readonly locked: boolean;
  readonly itemPresent?: boolean;
}

/** What one status reply says about one board. */
export interface BoardReading {
  readonly board: number;
  /** The locks the reply covers (a whole-board reply may cover more channels than the board has). */
  readonly locks: readonly LockReading[];
  /** 8A/80 whole-board replies: how many status bytes the board sends. */
  readonly statusBytes?: number;
}

/** One request ready for the wire: its bytes and the matcher of the reply it awaits. */
export interface Transaction<T> {
  readonly kind: 'open' | 'query';
  readonly bytes: Buffer;
  readonly reply: FrameMatcher<T>;
}

export interface BusProtocol {
  readonly name: ProtocolName;
  readonly line: SerialLine;
  /** The board reports item-present sensors (Kerong's infrared bits). */
  readonly reportsItems: boolean;
  /** How long an open's reply may take, unless the bus says otherwise (8A/80 boards answer after firing, ~1 s). */
  readonly openReplyMs: number;
  /** Every board address this bus may have, lowest first (what a probe asks). */
  boardAddresses(): readonly number[];
  /** `null` when `{ board, channel }` is a lock of this bus; otherwise what is wrong and how to fix it. */
  lockProblem(board: number, channel: number): string | null;
  /** The one frame that opens one lock. Throws for a lock `lockProblem` refuses (a bug: locks are checked at start). */
  open(board: number, channel: number): Transaction<unknown>;
  /** The queries that read `channels` of one board: one whole-board query, or (8A/80 `pollEach: 'lock'`) one per lock. */
  readBoard(board: number, channels: readonly number[]): readonly Transaction<BoardReading>[];
  /** One whole-board query assuming nothing learnt about the board (for the probe). */
  probeBoard(board: number): Transaction<BoardReading>;
  /** A reply came: remember what it says about the board's replies (8A/80: how many status bytes it sends). */
  learn(reading: BoardReading): void;
}

/** The same matcher with its decoded value mapped. */
export function mapMatcher<A, B>(matcher: FrameMatcher<A>, map: (value: A) => B): FrameMatcher<B> {
  return {
    awaited: matcher.awaited,
    maxFrameLength: matcher.maxFrameLength,
    classify(bytes, ended): Candidate<B> {
      const candidate = matcher.classify(bytes, ended);
      return candidate.kind === 'match' ? { kind: 'match', length: candidate.length, value: map(candidate.value) } : candidate;
    },
  };
}

/** The address a codec parser made, or a RangeError with its message (a lock that passed `lockProblem` never throws). */
export function addressOrThrow<T>(parsed: { ok: true; value: T } | { ok: false; message: string }): T {
  if (!parsed.ok) throw new RangeError(parsed.message);
  return parsed.value;
}

export function range(min: number, max: number): number[] {
  return Array.from({ length: Math.max(0, max - min + 1) }, (_, i) => min + i);
}
