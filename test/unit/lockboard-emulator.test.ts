import { describe, expect, it } from 'vitest';
import { decodeFrame, hex } from '../../firmware-bridge/lockboard/index.ts';
import { lockId } from '../../firmware-bridge/lockboard/lock-id.ts';
import { boardSide8a80 } from '../../simulator/lockboard-8a80.ts';
import { lockboardDoors, parseLockboardSettings } from '../../simulator/lockboard-bus.ts';
import { boardSideKerong } from '../../simulator/lockboard-kerong.ts';
import { frameTimeMs, resolveLockboardSettings, type ChannelReading } from '../../simulator/lockboard-protocol.ts';

// The pure parts of the lock-board emulator: its settings, the board sides' answers from channel readings, and
// how compartments map onto the bus.

const bytes = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const shut: ChannelReading = { locked: true, itemPresent: false };
const open: ChannelReading = { locked: false, itemPresent: false };

describe('lock-board emulator settings', () => {
  it('fill in the common board of each family, with real timing on', () => {
    expect(resolveLockboardSettings('8a80')).toEqual({
      lockedWhen: 'set', channelsOneToEightIn: 'last-byte', channelsPerBoard: 24, unlockReply: true, openReplyDelayMs: 0, pulseMs: 500, realTiming: true, turnaroundMs: 2,
    });
    expect(resolveLockboardSettings('kerong-cu').channelsPerBoard).toBe(16);
  });

  it('refuse what a board of the family cannot be, naming the field', () => {
    expect(() => parseLockboardSettings('kerong-cu', { channelsPerBoard: 24 })).toThrow(/at most 16 for kerong-cu/);
    expect(() => parseLockboardSettings('8a80', { lockedWhen: 'high' })).toThrow(/lockedWhen/);
    expect(() => parseLockboardSettings('8a80', { baud: 9600 })).toThrow(/baud/);
    expect(() => parseLockboardSettings('modbus' as '8a80', {})).toThrow(/"8a80" or "kerong-cu"/);
  });

  it('a frame takes 10 bits a byte on the line', () => {
    expect(frameTimeMs(5, 9600)).toBeCloseTo(5.208, 3);
    expect(frameTimeMs(9, 19200)).toBeCloseTo(4.6875, 4);
  });
});

describe('the 8A/80 board side', () => {
  const side = (over = {}) => boardSide8a80(resolveLockboardSettings('8a80', over));

  it('hears requests as neutral values and forbidden ones as refused', () => {
    const heard = (text: string) => decodeFrame(side().requests, bytes(text));
    expect(heard('8A 01 01 11 9B')).toEqual({ ok: true, value: { kind: 'open', board: 1, channel: 1 } });
    expect(heard('80 01 01 33 B3')).toEqual({ ok: true, value: { kind: 'query-lock', board: 1, channel: 1 } });
    expect(heard('80 01 00 33 B2')).toEqual({ ok: true, value: { kind: 'query-board', board: 1 } });
    expect(heard('8A 01 00 11 9A')).toMatchObject({ ok: true, value: { kind: 'refused' } });
    // Every board a safe frame can name is heard: the bus decides which exist.
    expect(heard('80 C8 00 33 7B')).toEqual({ ok: true, value: { kind: 'query-board', board: 200 } });
    expect(heard('8A 01 01 11 00')).toEqual({ ok: false, reason: 'bad-check' });
  });

  it('a whole-board reply\'s length follows the channel count', () => {
    for (const [channels, length] of [[2, 7], [8, 7], [24, 7], [25, 8], [32, 8], [50, 11]] as const) {
      const reply = side({ channelsPerBoard: channels }).reply({ kind: 'query-board', board: 1 }, [], false);
      expect(reply?.length, `${channels} channels`).toBe(length);
    }
  });

  it('unwired channels read as no contact (bit 0), whatever the polarity', () => {
    const readings = [shut, null, open];
    expect(hex(side().reply({ kind: 'query-board', board: 1 }, readings, false)!)).toBe('80 01 00 00 01 33 B3');
    expect(hex(side({ lockedWhen: 'clear' }).reply({ kind: 'query-board', board: 1 }, readings, false)!)).toBe('80 01 00 00 04 33 B6');
    expect(hex(side().reply({ kind: 'query-lock', board: 1, channel: 2 }, readings, false)!)).toBe('80 01 02 00 83');
  });

  it('a misaddressed reply names the neighbouring channel, or board', () => {
    expect(hex(side().reply({ kind: 'open', board: 1, channel: 24 }, [], true)!)).toBe('8A 01 17 00 9C');
    expect(hex(side({ channelsPerBoard: 1 }).reply({ kind: 'open', board: 1, channel: 1 }, [], true)!)).toBe('8A 02 01 00 89');
    expect(hex(side().reply({ kind: 'query-board', board: 254 }, [], true)!).slice(0, 5)).toBe('80 FD');
  });

  it('names why a compartment cannot sit at an address', () => {
    expect(side().addressProblem(1, 24)).toBeNull();
    expect(side().addressProblem(1, 25)).toMatch(/channel 25/);
    expect(side().addressProblem(0, 1)).toMatch(/board 0/);
  });
});

describe('the Kerong board side', () => {
  const side = (over = {}) => boardSideKerong(resolveLockboardSettings('kerong-cu', over));

  it('answers a status query and, when the firmware does, an unlock with hooks and item bits', () => {
    const readings = [shut, { locked: false, itemPresent: true }, null];
    expect(hex(side().reply({ kind: 'query-board', board: 1 }, readings, false)!)).toBe('02 10 35 01 00 02 00 03 4D');
    expect(hex(side().reply({ kind: 'open', board: 1, channel: 2 }, readings, false)!)).toBe('02 10 35 01 00 02 00 03 4D');
    expect(side({ unlockReply: false }).reply({ kind: 'open', board: 1, channel: 2 }, readings, false)).toBeNull();
    expect(hex(side().reply({ kind: 'query-board', board: 14 }, readings, true)!).slice(0, 5)).toBe('02 D0');
  });

  it('hears unlock-all and the broadcast as refused', () => {
    expect(decodeFrame(side().requests, bytes('02 00 33 03 38'))).toMatchObject({ ok: true, value: { kind: 'refused', reason: expect.stringMatching(/every lock/) } });
    expect(decodeFrame(side().requests, bytes('02 F0 32 03 27'))).toMatchObject({ ok: true, value: { kind: 'refused' } });
    expect(decodeFrame(side().requests, bytes('02 01 31 03 37'))).toEqual({ ok: true, value: { kind: 'open', board: 0, channel: 2 } });
  });
});

describe('compartments on the bus', () => {
  const base = { size: 'S' as const };

  it('take board and channel as given, or read them back from lockChannel', () => {
    expect(lockboardDoors([
      { ...base, id: 'A01', board: 2, channel: 5, lockChannel: lockId(2, 5), doorSensor: lockId(2, 5) },
      { ...base, id: 'A02', lockChannel: lockId(3, 7), doorSensor: lockId(3, 7) },
    ])).toEqual([{ id: 'A01', board: 2, channel: 5 }, { id: 'A02', board: 3, channel: 7 }]);
  });

  it('refuse a lock or sensor number that is not lockId(board, channel), and half an address', () => {
    expect(() => lockboardDoors([{ ...base, id: 'A01', board: 1, channel: 1, lockChannel: 257, doorSensor: 26 }])).toThrow(/A01.*lockId\(1, 1\) = 257/);
    expect(() => lockboardDoors([{ ...base, id: 'A01', board: 1, lockChannel: 257, doorSensor: 257 }])).toThrow(/both board and channel/);
  });
});
