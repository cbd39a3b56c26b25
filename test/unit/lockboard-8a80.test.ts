import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as boardSide from '../../firmware-bridge/lockboard/board-8a80.ts';
import { encodeBoardStatus, encodeLockStatus, encodeOpenReply, expectRequest } from '../../firmware-bridge/lockboard/board-8a80.ts';
import * as codec from '../../firmware-bridge/lockboard/codec-8a80.ts';
import {
  DEFAULT_SETTINGS,
  encodeRequest,
  expectReply,
  openLock,
  parseBoardAddress,
  parseLockAddress,
  queryBoard,
  queryLock,
  settingsSchema,
  unsafeRequestReason,
  type BoardAddress8a80,
  type LockAddress8a80,
  type Request8a80,
  type Settings8a80,
} from '../../firmware-bridge/lockboard/codec-8a80.ts';
import { UnsafeFrameError, decodeFrame, hex, xorOf } from '../../firmware-bridge/lockboard/frame.ts';

// The common 8A/80 lock-control board: every byte vector of HARDWARE.md §1, both status polarities and both
// whole-board bit orders, and the promise that no frame opening more than one lock can leave the codec.

const bytes = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const settings = (over: Partial<Settings8a80> = {}): Settings8a80 => settingsSchema.parse(over);

function lock(board: number, channel: number, s: Settings8a80 = DEFAULT_SETTINGS): LockAddress8a80 {
  const parsed = parseLockAddress({ board, channel }, s);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

function board(number: number, s: Settings8a80 = DEFAULT_SETTINGS): BoardAddress8a80 {
  const parsed = parseBoardAddress(number, s);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

/** The "never send" list of HARDWARE.md §1, written independently of the codec. */
function opensMoreThanOneLock(frame: Uint8Array): boolean {
  return frame[0] === 0x90 || frame[0] === 0x9a || frame[0] === 0x9b || (frame[0] === 0x8a && frame[2] === 0x00);
}

const lockedChannels = (locks: readonly { channel: number; locked: boolean }[]) => locks.filter((l) => l.locked).map((l) => l.channel);

describe('8A/80 requests', () => {
  it('are the byte vectors of the hardware sheet', () => {
    expect(hex(encodeRequest(openLock(lock(1, 1))))).toBe('8A 01 01 11 9B');
    expect(hex(encodeRequest(openLock(lock(2, 1))))).toBe('8A 02 01 11 98');
    expect(hex(encodeRequest(queryLock(lock(1, 1))))).toBe('80 01 01 33 B3');
    expect(hex(encodeRequest(queryBoard(board(1))))).toBe('80 01 00 33 B2');
  });

  it('are made afresh on every call, so changing one handed out changes nothing', () => {
    const request = openLock(lock(3, 7));
    const first = encodeRequest(request);
    first.fill(0);
    expect(hex(encodeRequest(request))).toBe('8A 03 07 11 9F');
  });

  it('name locks only through parsed addresses, which refuse channel 0, board 0 and anything out of range', () => {
    expect(parseLockAddress({ board: 1, channel: 0 })).toMatchObject({ ok: false, reason: 'channel-out-of-range' });
    expect(parseLockAddress({ board: 0, channel: 1 })).toMatchObject({ ok: false, reason: 'board-out-of-range' });
    expect(parseLockAddress({ board: 32, channel: 1 })).toMatchObject({ ok: false, reason: 'board-out-of-range', message: expect.stringContaining('raise highestBoard') });
    expect(parseLockAddress({ board: 32, channel: 1 }, settings({ highestBoard: 40 })).ok).toBe(true);
    expect(parseLockAddress({ board: 1, channel: 25 }, settings({ channelsPerBoard: 24 }))).toMatchObject({ ok: false, reason: 'channel-out-of-range' });
    expect(parseLockAddress({ board: 1, channel: 51 })).toMatchObject({ ok: false, reason: 'channel-out-of-range' });
    expect(parseLockAddress({ board: 1, channel: 1.5 })).toMatchObject({ ok: false, reason: 'channel-out-of-range' });
    expect(parseLockAddress({ board: '1', channel: 1 })).toMatchObject({ ok: false, reason: 'board-out-of-range' });
    expect(parseLockAddress(null)).toMatchObject({ ok: false, reason: 'not-an-address' });
    expect(parseBoardAddress(0)).toMatchObject({ ok: false, reason: 'board-out-of-range' });
    expect(settingsSchema.safeParse({ highestBoard: 255 }).success).toBe(false);
    expect(settingsSchema.safeParse({ channelsPerBoard: 51 }).success).toBe(false);
  });

  it('addresses cannot be changed once parsed', () => {
    const address = lock(1, 1);
    expect(() => {
      (address as { channel: number }).channel = 0;
    }).toThrow(TypeError);
    expect(hex(encodeRequest(openLock(address)))).toBe('8A 01 01 11 9B');
  });

  it('forged requests (casts past the types) are refused where the bytes leave, never sent', () => {
    const forged = (value: unknown) => () => encodeRequest(value as Request8a80);
    const asLock = (board: unknown, channel: unknown) => ({ board, channel }) as unknown as LockAddress8a80;
    expect(forged({ kind: 'open', lock: asLock(1, 0) })).toThrow(UnsafeFrameError);
    expect(forged({ kind: 'open', lock: asLock(1, 256) })).toThrow(UnsafeFrameError); // would wrap to channel 00
    expect(forged({ kind: 'open', lock: asLock(1, -0.5) })).toThrow(UnsafeFrameError);
    expect(forged({ kind: 'open', lock: asLock(0, 1) })).toThrow(UnsafeFrameError);
    expect(forged({ kind: 'open', lock: asLock(255, 1) })).toThrow(UnsafeFrameError);
    expect(forged({ kind: 'open', lock: asLock('1', '1') })).toThrow(UnsafeFrameError);
    expect(forged({ kind: 'open' })).toThrow(UnsafeFrameError);
    expect(forged({ kind: 'open-all', board: { board: 1 } })).toThrow(UnsafeFrameError);
    expect(forged({ kind: 'multi-open', lock: asLock(1, 1) })).toThrow(UnsafeFrameError);
    expect(forged({ kind: 'query-board', board: { board: 0 } })).toThrow(UnsafeFrameError);
    expect(forged(null)).toThrow(UnsafeFrameError);
    expect(forged(undefined)).toThrow(UnsafeFrameError);
    expect(forged('8A 01 00 11 9A')).toThrow(UnsafeFrameError);
  });
});

describe('the 8A/80 request guard', () => {
  it('refuses every frame on the never-send list', () => {
    for (const frame of ['8A 01 00 11 9A', '90 01 01 11 81', '9A 01 01 11 8B', '9B 01 01 11 8A']) {
      expect(unsafeRequestReason(bytes(frame)), frame).not.toBeNull();
    }
    expect(unsafeRequestReason(bytes('8A 01 00 11 9A'))).toMatch(/every lock/);
  });

  it('refuses a wrong check byte, a wrong length, board 00 or FF, and functions it does not send', () => {
    for (const frame of ['8A 01 01 11 9C', '8A 01 01 11', '8A 01 01 11 9B 00', '8A 00 01 11 9A', '8A FF 01 11 65', '8A 01 01 33 B9', '80 01 01 11 91', '80 01 33 33 81']) {
      expect(unsafeRequestReason(bytes(frame)), frame).not.toBeNull();
    }
  });

  it('lets through only one-lock opens and queries: every header × channel × function checked', () => {
    const frame = Buffer.alloc(5);
    for (let header = 0; header < 256; header++) {
      for (let channel = 0; channel < 256; channel++) {
        for (const fn of [0x00, 0x11, 0x22, 0x33, 0xff]) {
          frame.set([header, 1, channel, fn]);
          frame[4] = xorOf(frame, 4);
          const allowed = unsafeRequestReason(frame) === null;
          const expected = (header === 0x8a && fn === 0x11 && channel >= 1 && channel <= 50) || (header === 0x80 && fn === 0x33 && channel <= 50);
          if (allowed !== expected) expect.fail(`${hex(frame)}: allowed ${allowed}`);
        }
      }
    }
  });

  it('no sequence of builder calls, whatever numbers it is given, yields a frame that opens more than one lock', () => {
    const number = fc.oneof(fc.integer({ min: -3, max: 300 }), fc.constantFrom(0, 0x90, 0x9a, 0x9b, 255, 256, 512, -0, NaN, Infinity, 1.5), fc.double());
    const call = fc.record({ build: fc.constantFrom('open', 'query-lock', 'query-board'), board: number, channel: number });
    const busSettings = fc.record({ highestBoard: fc.integer({ min: 1, max: 254 }), channelsPerBoard: fc.integer({ min: 1, max: 50 }) }).map((s) => settings(s));
    fc.assert(fc.property(busSettings, fc.array(call, { maxLength: 30 }), (s, calls) => {
      for (const { build, board: b, channel } of calls) {
        let request: Request8a80;
        if (build === 'query-board') {
          const parsed = parseBoardAddress(b, s);
          if (!parsed.ok) continue;
          request = queryBoard(parsed.value);
        } else {
          const parsed = parseLockAddress({ board: b, channel }, s);
          if (!parsed.ok) continue;
          request = build === 'open' ? openLock(parsed.value) : queryLock(parsed.value);
        }
        const frame = encodeRequest(request);
        expect(frame.length).toBe(5);
        expect(frame[4]).toBe(xorOf(frame, 4));
        expect(opensMoreThanOneLock(frame)).toBe(false);
        expect(frame[1] === b).toBe(true);
        if (build !== 'query-board') expect(frame[2] === channel).toBe(true);
      }
    }));
  });

  it('no exported function, called with anything, returns a frame that opens more than one lock', () => {
    const functions = Object.entries({ ...codec, ...boardSide }).filter((e): e is [string, (...args: unknown[]) => unknown] => typeof e[1] === 'function');
    const valid = fc.constantFrom<unknown>(lock(1, 1), lock(2, 50), board(1), openLock(lock(1, 1)), queryBoard(board(3)), DEFAULT_SETTINGS, 0, 0x11, [true, false], { board: 1, channel: 0 });
    const argument = fc.oneof(valid, fc.integer({ min: -1, max: 256 }), fc.array(fc.boolean(), { maxLength: 60 }), fc.anything());
    fc.assert(fc.property(fc.constantFrom(...functions), fc.array(argument, { maxLength: 4 }), ([name, fn], args) => {
      let out: unknown;
      try {
        out = fn(...args);
      } catch {
        return; // refusing is always allowed
      }
      if (out instanceof Uint8Array) expect(opensMoreThanOneLock(out), `${name} → ${hex(out)}`).toBe(false);
    }), { numRuns: 3000 });
  });

  it('no forged request gets past the guard either', () => {
    const anything = fc.oneof(fc.integer({ min: -2, max: 260 }), fc.anything());
    const request = fc.record({ kind: fc.oneof(fc.constantFrom('open', 'query-lock', 'query-board'), fc.string()), lock: fc.record({ board: anything, channel: anything }), board: fc.record({ board: anything }) });
    fc.assert(fc.property(request, (forged) => {
      let frame: Buffer;
      try {
        frame = encodeRequest(forged as unknown as Request8a80);
      } catch (error) {
        expect(error).toBeInstanceOf(UnsafeFrameError);
        return;
      }
      expect(opensMoreThanOneLock(frame)).toBe(false);
      expect(unsafeRequestReason(frame)).toBeNull();
    }), { numRuns: 2000 });
  });
});

describe('8A/80 replies', () => {
  it('read the hardware sheet\'s replies', () => {
    expect(decodeFrame(expectReply(openLock(lock(1, 1))), bytes('8A 01 01 00 8A'))).toEqual({ ok: true, value: { kind: 'opened', board: 1, channel: 1, status: 0x00 } });
    expect(decodeFrame(expectReply(queryLock(lock(1, 1))), bytes('80 01 01 11 91'))).toEqual({ ok: true, value: { kind: 'lock-status', board: 1, channel: 1, status: 0x11, locked: true } });
    expect(decodeFrame(expectReply(queryLock(lock(1, 1))), bytes('80 01 01 00 80'))).toEqual({ ok: true, value: { kind: 'lock-status', board: 1, channel: 1, status: 0x00, locked: false } });
    const full = decodeFrame(expectReply(queryBoard(board(1))), bytes('80 01 01 01 01 33 B3'));
    expect(full).toMatchObject({ ok: true, value: { kind: 'board-status', board: 1, statusBytes: 3 } });
    expect(full.ok && lockedChannels(full.value.locks)).toEqual([1, 9, 17]);
    const eight = decodeFrame(expectReply(queryBoard(board(1))), bytes('80 01 00 00 00 33 B2'));
    expect(eight.ok && eight.value.locks.length).toBe(24);
    expect(eight.ok && lockedChannels(eight.value.locks)).toEqual([]);
  });

  it('read a lock\'s status with either polarity', () => {
    const clear = settings({ lockedWhen: 'clear' });
    expect(decodeFrame(expectReply(queryLock(lock(1, 1)), clear), bytes('80 01 01 11 91'))).toMatchObject({ ok: true, value: { locked: false } });
    expect(decodeFrame(expectReply(queryLock(lock(1, 1)), clear), bytes('80 01 01 00 80'))).toMatchObject({ ok: true, value: { locked: true } });
  });

  it('read a whole board with channels 1–8 in the last or the first status byte, and either polarity', () => {
    const frame = bytes('80 01 04 02 01 33 B5'); // status bytes 04 02 01
    const read = (s: Settings8a80) => {
      const decoded = decodeFrame(expectReply(queryBoard(board(1)), s), frame);
      return decoded.ok ? lockedChannels(decoded.value.locks) : decoded.reason;
    };
    expect(read(settings({ channelsOneToEightIn: 'last-byte' }))).toEqual([1, 10, 19]);
    expect(read(settings({ channelsOneToEightIn: 'first-byte' }))).toEqual([3, 10, 17]);
    const allBut = (locked: number[]) => Array.from({ length: 24 }, (_, i) => i + 1).filter((c) => !locked.includes(c));
    expect(read(settings({ channelsOneToEightIn: 'last-byte', lockedWhen: 'clear' }))).toEqual(allBut([1, 10, 19]));
    expect(read(settings({ channelsOneToEightIn: 'first-byte', lockedWhen: 'clear' }))).toEqual(allBut([3, 10, 17]));
  });

  it('take the whole-board length from the frame: 3 status bytes for 24 channels, 4 for 32, 7 for 50', () => {
    for (const [channels, statusBytes] of [[24, 3], [32, 4], [50, 7]] as const) {
      const s = settings({ channelsPerBoard: channels });
      const locked = Array.from({ length: channels }, (_, i) => i === 0 || i === channels - 1);
      const frame = encodeBoardStatus(board(1, s), locked, s);
      expect(frame.length, `${channels} channels`).toBe(4 + statusBytes);
      const decoded = decodeFrame(expectReply(queryBoard(board(1, s)), s), frame);
      expect(decoded.ok && lockedChannels(decoded.value.locks)).toEqual([1, channels]);
    }
  });

  it('a pinned status-byte count accepts only that length', () => {
    const expectation = expectReply(queryBoard(board(1)), DEFAULT_SETTINGS, { statusBytes: 4 });
    expect(decodeFrame(expectation, bytes('80 01 01 01 01 33 B3')).ok).toBe(false);
    expect(decodeFrame(expectation, encodeBoardStatus(board(1), [true], DEFAULT_SETTINGS, 4))).toMatchObject({ ok: true, value: { statusBytes: 4 } });
    expect(() => expectReply(queryBoard(board(1)), DEFAULT_SETTINGS, { statusBytes: 1 })).toThrow(RangeError);
  });

  it('say why a frame is not the awaited reply', () => {
    const query = expectReply(queryLock(lock(1, 1)));
    expect(decodeFrame(query, bytes('80 01 01 11 92'))).toEqual({ ok: false, reason: 'bad-check' });
    expect(decodeFrame(query, bytes('80 02 01 11 92'))).toEqual({ ok: false, reason: 'wrong-address' });
    expect(decodeFrame(query, bytes('80 01 02 11 92'))).toEqual({ ok: false, reason: 'wrong-address' });
    expect(decodeFrame(query, bytes('8A 01 01 00 8A'))).toEqual({ ok: false, reason: 'unexpected' });
    expect(decodeFrame(query, bytes('80 01 01 33 B3'))).toEqual({ ok: false, reason: 'echo' });
    expect(decodeFrame(query, bytes('80 01 01'))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeFrame(query, bytes('80 01 01 11 91 00'))).toEqual({ ok: false, reason: 'trailing-bytes' });
    expect(decodeFrame(query, bytes('FA FD 99 99'))).toEqual({ ok: false, reason: 'not-a-frame' });
    const whole = expectReply(queryBoard(board(1)));
    expect(decodeFrame(whole, bytes('80 01 00 33 B2'))).toEqual({ ok: false, reason: 'echo' });
    expect(decodeFrame(whole, bytes('80 01 01 01 01 33 B4'))).toEqual({ ok: false, reason: 'bad-check' });
    expect(decodeFrame(whole, bytes('80 02 01 01 01 33 B0'))).toEqual({ ok: false, reason: 'wrong-address' });
    expect(decodeFrame(whole, bytes('80 01 01 11 91'))).toEqual({ ok: false, reason: 'unexpected' });
  });

  it('an exact copy of an open is taken as its answer (boards reporting status 11 send just that)', () => {
    expect(decodeFrame(expectReply(openLock(lock(1, 1))), bytes('8A 01 01 11 9B'))).toEqual({ ok: true, value: { kind: 'opened', board: 1, channel: 1, status: 0x11 } });
  });
});

describe('the 8A/80 board side (for emulators)', () => {
  const heard = (frame: Uint8Array) => decodeFrame(expectRequest(), frame);

  it('hears the three requests as the host built them', () => {
    expect(heard(bytes('8A 01 01 11 9B'))).toEqual({ ok: true, value: openLock(lock(1, 1)) });
    expect(heard(bytes('80 01 01 33 B3'))).toEqual({ ok: true, value: queryLock(lock(1, 1)) });
    expect(heard(bytes('80 01 00 33 B2'))).toEqual({ ok: true, value: queryBoard(board(1)) });
  });

  it('flags every forbidden frame it hears instead of obeying it', () => {
    for (const frame of ['8A 01 00 11 9A', '90 01 01 11 81', '9A 01 01 11 8B', '9B 01 01 11 8A']) {
      expect(heard(bytes(frame)), frame).toMatchObject({ ok: true, value: { kind: 'refused', frame } });
    }
  });

  it('says the replies of the hardware sheet', () => {
    expect(hex(encodeOpenReply(lock(1, 1)))).toBe('8A 01 01 00 8A');
    expect(hex(encodeLockStatus(lock(1, 1), true))).toBe('80 01 01 11 91');
    expect(hex(encodeLockStatus(lock(1, 1), false))).toBe('80 01 01 00 80');
    expect(hex(encodeBoardStatus(board(1), [true, false, false, false, false, false, false, false, true, false, false, false, false, false, false, false, true]))).toBe('80 01 01 01 01 33 B3');
    expect(hex(encodeBoardStatus(board(1), new Array<boolean>(8).fill(false)))).toBe('80 01 00 00 00 33 B2');
  });

  it('refuses a forged address rather than saying 8A with channel 00', () => {
    const forged = { board: 1, channel: 0 } as unknown as LockAddress8a80;
    expect(() => encodeOpenReply(forged, 0x11)).toThrow(RangeError);
    expect(() => encodeLockStatus(forged, true)).toThrow(RangeError);
  });

  it('replies round-trip: what a board says is what the host reads, for any bus settings', () => {
    const busSettings = fc.record({ lockedWhen: fc.constantFrom('set', 'clear'), channelsOneToEightIn: fc.constantFrom('last-byte', 'first-byte') }).map((s) => settings(s));
    fc.assert(fc.property(busSettings, fc.integer({ min: 1, max: 31 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 50 }), fc.integer({ min: 0, max: 4 }), (s, b, locked, extra) => {
      const statusBytes = Math.min(7, Math.max(2, Math.ceil(locked.length / 8) + extra));
      const decoded = decodeFrame(expectReply(queryBoard(board(b, s)), s, { statusBytes }), encodeBoardStatus(board(b, s), locked, s, statusBytes));
      expect(decoded.ok).toBe(true);
      if (!decoded.ok) return;
      expect(decoded.value.locks.slice(0, locked.length).map((l) => l.locked)).toEqual(locked);
      // Channels past the last one given send bit 0 (no contact), whatever that means on this bus.
      expect(decoded.value.locks.slice(locked.length).every((l) => l.locked === (s.lockedWhen === 'clear'))).toBe(true);
      const one = lock(b, locked.length, s);
      expect(decodeFrame(expectReply(queryLock(one), s), encodeLockStatus(one, locked.at(-1)!, s))).toMatchObject({ ok: true, value: { locked: locked.at(-1) } });
    }));
  });
});
