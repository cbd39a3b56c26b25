import {
  DEFAULT_SETTINGS,
  MAX_CHANNELS,
  openLock,
  parseBoardAddress,
  parseLockAddress,
  queryBoard,
  unsafeRequestReason,
  type BoardAddressKerong,
  type RequestKerong,
  type SettingsKerong,
} from './codec-kerong.ts';
import { hex, sumOf, type Candidate, type FrameMatcher } from './frame.ts';

// The board's side of the Kerong KR-CU protocol, for emulators and tests: hear a request, say a status reply.
// A host never needs this file.

/** A request heard on the bus, or one a board must refuse: forbidden (unlock-all, broadcast …) or out of the bus's ranges. */
export type HeardRequestKerong = RequestKerong | { readonly kind: 'refused'; readonly reason: string; readonly frame: string };

/** The matcher for any 5-byte `02 ADDR CMD 03 SUM` request; a forbidden one is a `refused` value, not skipped. */
export function expectRequest(settings: SettingsKerong = DEFAULT_SETTINGS): FrameMatcher<HeardRequestKerong> {
  return {
    awaited: 'a request',
    maxFrameLength: 5,
    classify(bytes, ended = false): Candidate<HeardRequestKerong> {
      if (bytes.length === 0) return { kind: ended ? 'none' : 'partial' };
      if (bytes[0] !== 0x02) return { kind: 'none' };
      if (bytes.length < 5) return { kind: ended ? 'truncated' : 'partial' };
      if (bytes[3] !== 0x03 || bytes[4] !== sumOf(bytes, 4)) return { kind: 'bad-check' };
      return { kind: 'match', length: 5, value: heard(bytes.subarray(0, 5), settings) };
    },
  };
}

function heard(frame: Uint8Array, settings: SettingsKerong): HeardRequestKerong {
  const refused = (reason: string): HeardRequestKerong => ({ kind: 'refused', reason, frame: hex(frame) });
  const why = unsafeRequestReason(frame);
  if (why !== null) return refused(why);
  const board = frame[1]! >> 4;
  if (frame[2] === 0x30) {
    const address = parseBoardAddress(board);
    return address.ok ? queryBoard(address.value) : refused(address.message);
  }
  const address = parseLockAddress({ board, channel: (frame[1]! & 0x0f) + 1 }, settings);
  return address.ok ? openLock(address.value) : refused(address.message);
}

/** One lock as a board reports it; `locks[i]` is lock i + 1 (locks past the last given send bit 0: no contact, no item). */
export type ReportedLockKerong = { readonly locked: boolean; readonly itemPresent: boolean };

/** `02 ADDR 35 H1 H2 I1 I2 03 SUM`: a board's hooks (polarity as the bus's `lockedWhen` says) and infrared sensors. */
export function encodeStatus(board: BoardAddressKerong, locks: readonly ReportedLockKerong[], settings: SettingsKerong = DEFAULT_SETTINGS): Buffer {
  if (locks.length > MAX_CHANNELS) throw new RangeError(`a board reports at most ${MAX_CHANNELS} locks, got ${locks.length}`);
  // Re-checked: a forged board must not make an F0 address.
  const address = parseBoardAddress(typeof board === 'object' && board !== null ? board.board : undefined);
  if (!address.ok) throw new RangeError(address.message);
  let hooks = 0;
  let items = 0;
  locks.forEach((lock, index) => {
    if (lock.locked === (settings.lockedWhen === 'set')) hooks |= 1 << index;
    if (lock.itemPresent) items |= 1 << index;
  });
  const frame = Buffer.from([0x02, address.value.board << 4, 0x35, hooks & 0xff, (hooks >> 8) & 0xff, items & 0xff, (items >> 8) & 0xff, 0x03, 0]);
  frame[8] = sumOf(frame, 8);
  return frame;
}
