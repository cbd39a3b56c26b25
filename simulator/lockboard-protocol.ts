import { z } from 'zod';
import type { Candidate, FrameMatcher } from '../firmware-bridge/lockboard/index.ts';

// What the emulated RS-485 bus (./lockboard-device.ts) needs from a board family: hear any request, answer it
// from the cabinet's state. The bytes come from the board side of the codecs (firmware-bridge/lockboard);
// this file only names the protocol-neutral shapes and the emulator's settings.

export const LOCKBOARD_PROTOCOLS = ['8a80', 'kerong-cu'] as const;
export type LockboardProtocol = (typeof LOCKBOARD_PROTOCOLS)[number];

/** The most channels one emulated board has: 50 for 8A/80, 16 for Kerong KR-CU. */
export const MAX_CHANNELS: Record<LockboardProtocol, number> = { '8a80': 50, 'kerong-cu': 16 };
/** Channels per board unless told: the typical 24-channel 锁控板, the KR-CU16. */
const DEFAULT_CHANNELS: Record<LockboardProtocol, number> = { '8a80': 24, 'kerong-cu': 16 };

/** How the emulated boards behave; the fields that vary between real boards are settings, as in the codecs. */
export const lockboardSettingsSchema = z.object({
  /** Which status means latched: `set` = 11 / bit 1 (most boards) or `clear`. */
  lockedWhen: z.enum(['set', 'clear'], { error: 'lockedWhen is "set" or "clear"' }).default('set'),
  /** 8A/80 whole-board replies: which status byte holds channels 1–8 (bit 0 = channel 1). */
  channelsOneToEightIn: z.enum(['last-byte', 'first-byte'], { error: 'channelsOneToEightIn is "last-byte" or "first-byte"' }).default('last-byte'),
  /** Channels of every board (8A/80 default 24, up to 50; Kerong default 16, 12 for a CU12). Sets the length of an 8A/80 whole-board reply. */
  channelsPerBoard: z.number().int().min(1).max(50).optional(),
  /** Kerong: whether the board answers an unlock with its status frame (optional on some firmware). */
  unlockReply: z.boolean().default(true),
  /** Extra wait before the reply to an open (some 8A/80 boards answer about 1 s later). */
  openReplyDelayMs: z.number().int().min(0).max(5000).default(0),
  /** How long the board energises a latch for one open. */
  pulseMs: z.number().int().min(1).max(5000).default(500),
  /** Replies come after the request and the reply have crossed the line at its baud rate (10 bits a byte) and a turnaround. */
  realTiming: z.boolean().default(true),
  /** The board's turnaround between hearing a request and answering, with `realTiming`. */
  turnaroundMs: z.number().min(0).max(100).default(2),
}).strict();

export type LockboardSettingsInput = z.input<typeof lockboardSettingsSchema>;
export type LockboardSettings = Omit<z.output<typeof lockboardSettingsSchema>, 'channelsPerBoard'> & { readonly channelsPerBoard: number };

/** The settings with every default filled in for `protocol`; throws a ZodError (or RangeError) naming the field at fault. */
export function resolveLockboardSettings(protocol: LockboardProtocol, input: unknown = {}): LockboardSettings {
  const parsed = lockboardSettingsSchema.parse(input ?? {});
  const channelsPerBoard = parsed.channelsPerBoard ?? DEFAULT_CHANNELS[protocol];
  if (channelsPerBoard > MAX_CHANNELS[protocol]) throw new RangeError(`channelsPerBoard is at most ${MAX_CHANNELS[protocol]} for ${protocol}, got ${channelsPerBoard}`);
  return { ...parsed, channelsPerBoard };
}

/** A request a board can act on, whatever the family. Kerong has no `query-lock`. */
export type BoardRequest =
  | { readonly kind: 'open'; readonly board: number; readonly channel: number }
  | { readonly kind: 'query-lock'; readonly board: number; readonly channel: number }
  | { readonly kind: 'query-board'; readonly board: number };

/** Anything with a good check byte heard on the bus; `refused` opens several locks, reaches every board, or names no address. */
export type BusRequest = BoardRequest | { readonly kind: 'refused'; readonly reason: string };

/** What a board's channel reads from the cabinet; `null` where no lock is wired to the channel. */
export type ChannelReading = { readonly locked: boolean; readonly itemPresent: boolean } | null;

export interface BoardSide {
  readonly protocol: LockboardProtocol;
  readonly baudRate: number;
  /** Recognises any request frame at the start of the bytes heard. */
  readonly requests: FrameMatcher<BusRequest>;
  /**
   * The board's reply, or `null` when this firmware sends none. `channels[i]` is channel i + 1. `misaddressed`:
   * the reply names another lock or board (a fault), with this board's readings.
   */
  reply(request: BoardRequest, channels: readonly ChannelReading[], misaddressed: boolean): Buffer | null;
  /** Why a compartment cannot sit at this address on this bus, or `null`. */
  addressProblem(board: number, channel: number): string | null;
}

/** An unwired channel has no feedback contact, so it reads bit 0: "locked" only where clear means locked. */
export function lockedReading(reading: ChannelReading, lockedWhen: 'set' | 'clear'): boolean {
  return reading === null ? lockedWhen === 'clear' : reading.locked;
}

/** The value of a codec's address parse; a problem is a bug here (the bus checks addresses before it answers). */
export function parsedOrThrow<T>(parsed: { ok: true; value: T } | { ok: false; message: string }): T {
  if (!parsed.ok) throw new RangeError(parsed.message);
  return parsed.value;
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

/** Milliseconds `bytes` take on a line at `baudRate`, 8N1: 10 bits a byte. */
export function frameTimeMs(bytes: number, baudRate: number): number {
  return (bytes * 10 * 1000) / baudRate;
}
