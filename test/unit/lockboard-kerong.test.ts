import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as boardSide from '../../firmware-bridge/lockboard/board-kerong.ts';
import { encodeStatus, expectRequest } from '../../firmware-bridge/lockboard/board-kerong.ts';
import * as codec from '../../firmware-bridge/lockboard/codec-kerong.ts';
import {
  DEFAULT_SETTINGS,
  encodeRequest,
  expectReply,
  openLock,
  parseBoardAddress,
  parseLockAddress,
  queryBoard,
  settingsSchema,
  unsafeRequestReason,
  type BoardAddressKerong,
  type LockAddressKerong,
  type RequestKerong,
  type SettingsKerong,
} from '../../firmware-bridge/lockboard/codec-kerong.ts';
import { UnsafeFrameError, decodeFrame, hex, sumOf } from '../../firmware-bridge/lockboard/frame.ts';

// Kerong KR-CU12/CU16: every byte vector of HARDWARE.md §2, both hook polarities, the infrared item bits, and the
// promise that unlock-all (33) and the broadcast (ADDR F0) can never leave the codec.

const bytes = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const settings = (over: Partial<SettingsKerong> = {}): SettingsKerong => settingsSchema.parse(over);

function lock(board: number, channel: number, s: SettingsKerong = DEFAULT_SETTINGS): LockAddressKerong {
  const parsed = parseLockAddress({ board, channel }, s);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

function board(number: number): BoardAddressKerong {
  const parsed = parseBoardAddress(number);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

/** The "never send" list of HARDWARE.md §2, written independently of the codec. */
function neverSend(frame: Uint8Array): boolean {
  return frame[2] === 0x33 || frame[2] === 0x32 || (frame[1]! >= 0xf0);
}

const where = (locks: readonly { channel: number; locked: boolean; itemPresent: boolean }[], key: 'locked' | 'itemPresent') =>
  locks.filter((l) => l[key]).map((l) => l.channel);

describe('Kerong requests', () => {
  it('are the byte vectors of the hardware sheet', () => {
    expect(hex(encodeRequest(queryBoard(board(0))))).toBe('02 00 30 03 35');
    expect(hex(encodeRequest(queryBoard(board(1))))).toBe('02 10 30 03 45');
    expect(hex(encodeRequest(openLock(lock(0, 1))))).toBe('02 00 31 03 36');
    expect(hex(encodeRequest(openLock(lock(0, 2))))).toBe('02 01 31 03 37');
    expect(hex(encodeRequest(openLock(lock(1, 1))))).toBe('02 10 31 03 46');
    expect(hex(encodeRequest(openLock(lock(14, 16))))).toBe('02 EF 31 03 25');
  });

  it('name locks only through parsed addresses: board 0–14, lock 1–16 (1–12 on a CU12)', () => {
    expect(parseLockAddress({ board: 15, channel: 1 })).toMatchObject({ ok: false, reason: 'board-out-of-range', message: expect.stringContaining('broadcast') });
    expect(parseLockAddress({ board: -1, channel: 1 })).toMatchObject({ ok: false, reason: 'board-out-of-range' });
    expect(parseLockAddress({ board: 0, channel: 0 })).toMatchObject({ ok: false, reason: 'channel-out-of-range' });
    expect(parseLockAddress({ board: 0, channel: 17 })).toMatchObject({ ok: false, reason: 'channel-out-of-range' });
    expect(parseLockAddress({ board: 0, channel: 13 }, settings({ channelsPerBoard: 12 }))).toMatchObject({ ok: false, reason: 'channel-out-of-range' });
    expect(parseBoardAddress(15)).toMatchObject({ ok: false, reason: 'board-out-of-range' });
    expect(parseBoardAddress(16)).toMatchObject({ ok: false, reason: 'board-out-of-range' });
  });

  it('forged requests (casts past the types) are refused where the bytes leave, never sent', () => {
    const forged = (value: unknown) => () => encodeRequest(value as RequestKerong);
    const asLock = (board: unknown, channel: unknown) => ({ board, channel }) as unknown as LockAddressKerong;
    expect(forged({ kind: 'open', lock: asLock(15, 1) })).toThrow(UnsafeFrameError); // would be ADDR F0
    expect(forged({ kind: 'open', lock: asLock(0, 17) })).toThrow(UnsafeFrameError); // would spill into the board nibble
    expect(forged({ kind: 'open', lock: asLock(0, 0) })).toThrow(UnsafeFrameError);
    expect(forged({ kind: 'open', lock: asLock(16, 1) })).toThrow(UnsafeFrameError);
    expect(forged({ kind: 'unlock-all', board: { board: 0 } })).toThrow(UnsafeFrameError);
    expect(forged({ kind: 'query-all' })).toThrow(UnsafeFrameError);
    expect(forged({ kind: 'query-board', board: { board: 15 } })).toThrow(UnsafeFrameError);
    expect(forged(null)).toThrow(UnsafeFrameError);
  });
});

describe('the Kerong request guard', () => {
  it('refuses unlock-all, the broadcast, and a wrong check byte', () => {
    expect(unsafeRequestReason(bytes('02 00 33 03 38'))).toMatch(/every lock/);
    expect(unsafeRequestReason(bytes('02 F0 32 03 27'))).not.toBeNull();
    expect(unsafeRequestReason(bytes('02 F0 31 03 26'))).toMatch(/broadcast/);
    expect(unsafeRequestReason(bytes('02 00 31 03 37'))).toBe('wrong check byte');
    expect(unsafeRequestReason(bytes('02 00 37 00 32 03 6E'))).not.toBeNull();
  });

  it('lets through only one-lock unlocks and board queries: every ADDR × command checked', () => {
    const frame = Buffer.alloc(5);
    for (let address = 0; address < 256; address++) {
      for (let command = 0; command < 256; command++) {
        frame.set([0x02, address, command, 0x03]);
        frame[4] = sumOf(frame, 4);
        const allowed = unsafeRequestReason(frame) === null;
        const expected = address < 0xf0 && (command === 0x31 || (command === 0x30 && (address & 0x0f) === 0));
        if (allowed !== expected) expect.fail(`${hex(frame)}: allowed ${allowed}`);
      }
    }
  });

  it('no sequence of builder calls, whatever numbers it is given, yields a forbidden frame', () => {
    const number = fc.oneof(fc.integer({ min: -3, max: 300 }), fc.constantFrom(0, 15, 16, 17, 0xf0, 255, 256, NaN, Infinity, 0.5), fc.double());
    const call = fc.record({ build: fc.constantFrom('open', 'query-board'), board: number, channel: number });
    const busSettings = fc.record({ channelsPerBoard: fc.integer({ min: 1, max: 16 }) }).map((s) => settings(s));
    fc.assert(fc.property(busSettings, fc.array(call, { maxLength: 30 }), (s, calls) => {
      for (const { build, board: b, channel } of calls) {
        let request: RequestKerong;
        if (build === 'query-board') {
          const parsed = parseBoardAddress(b);
          if (!parsed.ok) continue;
          request = queryBoard(parsed.value);
        } else {
          const parsed = parseLockAddress({ board: b, channel }, s);
          if (!parsed.ok) continue;
          request = openLock(parsed.value);
        }
        const frame = encodeRequest(request);
        expect(frame.length).toBe(5);
        expect(frame[4]).toBe(sumOf(frame, 4));
        expect(neverSend(frame)).toBe(false);
        expect(frame[1]! >> 4 === b).toBe(true); // ===, not Object.is: board -0 is board 0
        if (build === 'open') expect((frame[1]! & 0x0f) + 1 === channel).toBe(true);
      }
    }));
  });

  it('no exported function, called with anything, returns a forbidden frame', () => {
    const functions = Object.entries({ ...codec, ...boardSide }).filter((e): e is [string, (...args: unknown[]) => unknown] => typeof e[1] === 'function');
    const valid = fc.constantFrom<unknown>(lock(0, 1), lock(14, 16), board(0), board(14), openLock(lock(1, 1)), queryBoard(board(3)), DEFAULT_SETTINGS, { board: 15, channel: 1 });
    const argument = fc.oneof(valid, fc.integer({ min: -1, max: 256 }), fc.array(fc.record({ locked: fc.boolean(), itemPresent: fc.boolean() }), { maxLength: 17 }), fc.anything());
    fc.assert(fc.property(fc.constantFrom(...functions), fc.array(argument, { maxLength: 4 }), ([name, fn], args) => {
      let out: unknown;
      try {
        out = fn(...args);
      } catch {
        return; // refusing is always allowed
      }
      if (out instanceof Uint8Array) expect(neverSend(out), `${name} → ${hex(out)}`).toBe(false);
    }), { numRuns: 3000 });
  });

  it('no forged request gets past the guard either', () => {
    const anything = fc.oneof(fc.integer({ min: -2, max: 260 }), fc.anything());
    const request = fc.record({ kind: fc.oneof(fc.constantFrom('open', 'query-board'), fc.string()), lock: fc.record({ board: anything, channel: anything }), board: fc.record({ board: anything }) });
    fc.assert(fc.property(request, (forged) => {
      let frame: Buffer;
      try {
        frame = encodeRequest(forged as unknown as RequestKerong);
      } catch (error) {
        expect(error).toBeInstanceOf(UnsafeFrameError);
        return;
      }
      expect(neverSend(frame)).toBe(false);
      expect(unsafeRequestReason(frame)).toBeNull();
    }), { numRuns: 2000 });
  });
});

describe('Kerong status replies', () => {
  const status = bytes('02 10 35 FF 00 00 81 03 CA'); // board 1, hooks 1–8 closed, items in 9 and 16

  it('read hooks and infrared item bits (1 = item there) per lock', () => {
    const decoded = decodeFrame(expectReply(queryBoard(board(1))), status);
    expect(decoded).toMatchObject({ ok: true, value: { kind: 'board-status', board: 1 } });
    if (!decoded.ok) return;
    expect(decoded.value.locks).toHaveLength(16);
    expect(where(decoded.value.locks, 'locked')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(where(decoded.value.locks, 'itemPresent')).toEqual([9, 16]);
    expect(decoded.value.locks[8]).toEqual({ channel: 9, locked: false, itemPresent: true });
  });

  it('read hooks with the other polarity; item bits do not change', () => {
    const decoded = decodeFrame(expectReply(queryBoard(board(1)), settings({ lockedWhen: 'clear' })), status);
    if (!decoded.ok) return expect.fail(decoded.reason);
    expect(where(decoded.value.locks, 'locked')).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
    expect(where(decoded.value.locks, 'itemPresent')).toEqual([9, 16]);
  });

  it('report as many locks as the board has (12 on a CU12)', () => {
    const decoded = decodeFrame(expectReply(queryBoard(board(1)), settings({ channelsPerBoard: 12 })), status);
    expect(decoded.ok && decoded.value.locks.length).toBe(12);
  });

  it('answer an unlock too, whatever lock nibble the board puts in ADDR', () => {
    const unlock = expectReply(openLock(lock(1, 3)));
    expect(decodeFrame(unlock, status)).toMatchObject({ ok: true, value: { board: 1 } });
    const withNibble = Buffer.from(status);
    withNibble[1] = 0x12;
    withNibble[8] = sumOf(withNibble, 8);
    expect(decodeFrame(unlock, withNibble)).toMatchObject({ ok: true, value: { board: 1 } });
  });

  it('say why a frame is not the awaited reply', () => {
    const query = expectReply(queryBoard(board(1)));
    expect(decodeFrame(query, bytes('02 10 35 FF 00 00 81 03 CB'))).toEqual({ ok: false, reason: 'bad-check' });
    expect(decodeFrame(query, bytes('02 10 35 FF 00 00 81 04 CB'))).toEqual({ ok: false, reason: 'bad-check' });
    expect(decodeFrame(query, bytes('02 00 35 FF 00 00 81 03 BA'))).toEqual({ ok: false, reason: 'wrong-address' });
    expect(decodeFrame(query, bytes('02 10 30 03 45'))).toEqual({ ok: false, reason: 'echo' });
    expect(decodeFrame(query, bytes('02 10 36 00 00 00 00 03 4B'))).toEqual({ ok: false, reason: 'unexpected' });
    expect(decodeFrame(query, bytes('02 10 35 FF'))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodeFrame(query, bytes('FA FD 99 99'))).toEqual({ ok: false, reason: 'not-a-frame' });
    expect(decodeFrame(expectReply(openLock(lock(1, 3))), bytes('02 12 31 03 48'))).toEqual({ ok: false, reason: 'echo' });
  });
});

describe('the Kerong board side (for emulators)', () => {
  const heard = (frame: Uint8Array) => decodeFrame(expectRequest(), frame);

  it('hears the two requests as the host built them', () => {
    expect(heard(bytes('02 00 31 03 36'))).toEqual({ ok: true, value: openLock(lock(0, 1)) });
    expect(heard(bytes('02 01 31 03 37'))).toEqual({ ok: true, value: openLock(lock(0, 2)) });
    expect(heard(bytes('02 10 30 03 45'))).toEqual({ ok: true, value: queryBoard(board(1)) });
  });

  it('flags unlock-all and the broadcast instead of obeying them', () => {
    for (const frame of ['02 00 33 03 38', '02 F0 32 03 27', '02 F0 31 03 26']) {
      expect(heard(bytes(frame)), frame).toMatchObject({ ok: true, value: { kind: 'refused', frame } });
    }
  });

  it('says the status of the hardware sheet', () => {
    const locks = Array.from({ length: 16 }, (_, i) => ({ locked: i < 8, itemPresent: i === 8 || i === 15 }));
    expect(hex(encodeStatus(board(1), locks))).toBe('02 10 35 FF 00 00 81 03 CA');
    expect(hex(encodeStatus(board(1), locks.map((l) => ({ ...l, locked: !l.locked })), settings({ lockedWhen: 'clear' })))).toBe('02 10 35 FF 00 00 81 03 CA');
  });

  it('status replies round-trip for any bus settings', () => {
    const state = fc.record({ locked: fc.boolean(), itemPresent: fc.boolean() });
    fc.assert(fc.property(fc.constantFrom<'set' | 'clear'>('set', 'clear'), fc.integer({ min: 0, max: 14 }), fc.array(state, { minLength: 16, maxLength: 16 }), (lockedWhen, b, locks) => {
      const s = settings({ lockedWhen });
      const decoded = decodeFrame(expectReply(queryBoard(board(b)), s), encodeStatus(board(b), locks, s));
      if (!decoded.ok) return expect.fail(decoded.reason);
      expect(decoded.value.locks.map(({ locked, itemPresent }) => ({ locked, itemPresent }))).toEqual(locks);
    }));
  });
});
