import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../controller/config/load.ts';
import { lockId } from '../../firmware-bridge/lockboard/lock-id.ts';

const problemsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
};
const messageAt = (problems: { path: string; message: string }[], path: string) => problems.find((p) => p.path === path)?.message;

const tcpBus = (protocol: string, extra: Record<string, unknown> = {}) => ({ protocol, transport: { kind: 'tcp', host: '127.0.0.1', port: 4001 }, ...extra });
const lockboard = (bus: Record<string, unknown>, compartments?: unknown[]) => ({ hardware: { driver: 'lockboard', bus }, ...(compartments ? { compartments } : {}) });

describe('configuration of RS-485 lock boards', () => {
  it('reads the contract\'s example: lock-board compartments carry lockId as lock channel and door sensor', () => {
    const c = parseConfig({
      hardware: { driver: 'lockboard', bus: { protocol: '8a80', transport: { kind: 'tcp', host: '127.0.0.1', port: 4001 }, pollMs: 200 } },
      compartments: [{ id: 'A01', size: 'S', board: 1, channel: 1 }, { id: 'B01', size: 'M', board: 2, channel: 5 }],
      idReader: { transport: { kind: 'serial', path: '/dev/ttyUSB1', baudRate: 115200 } },
    }, {});
    expect(c.hardware.driver).toBe('lockboard');
    if (c.hardware.driver !== 'lockboard') return;
    expect(c.hardware.bus).toMatchObject({ protocol: '8a80', transport: { kind: 'tcp', host: '127.0.0.1', port: 4001 }, pollMs: 200, lockedWhen: 'set', pollEach: 'board' });
    expect(c.compartments).toEqual([
      { id: 'A01', size: 'S', board: 1, channel: 1, lockChannel: lockId(1, 1), doorSensor: lockId(1, 1) },
      { id: 'B01', size: 'M', board: 2, channel: 5, lockChannel: lockId(2, 5), doorSensor: lockId(2, 5) },
    ]);
    expect(c.idReader?.transport).toMatchObject({ kind: 'serial', path: '/dev/ttyUSB1', baudRate: 115200 });
    expect(c.hardware.transport).toBeUndefined();
  });

  it('polls every 250 ms (the contract ceiling) unless told, and fills each protocol\'s codec settings', () => {
    const c = parseConfig(lockboard(tcpBus('kerong-cu')), {});
    if (c.hardware.driver !== 'lockboard') throw new Error('expected lock boards');
    expect(c.hardware.bus.pollMs).toBeLessThanOrEqual(250);
    expect(c.hardware.bus).toMatchObject({ protocol: 'kerong-cu', pollMs: 250, replyMs: 300, queryRetries: 1, lostAfterPolls: 3, lockedWhen: 'set', channelsPerBoard: 16 });
    expect(c.hardware.pulseMs).toBe(300); // accepted (Firmata only), harmless
  });

  it('without compartments gives the demo cabinet on each protocol\'s boards', () => {
    const a = parseConfig(lockboard(tcpBus('8a80')), {}).compartments;
    expect(a).toHaveLength(24);
    expect(a[0]).toEqual({ id: 'A01', size: 'S', board: 1, channel: 1, lockChannel: lockId(1, 1), doorSensor: lockId(1, 1) });
    expect(a[23]).toMatchObject({ id: 'C08', size: 'L', board: 1, channel: 24 });
    const k = parseConfig(lockboard(tcpBus('kerong-cu')), {}).compartments;
    expect(k.map((x) => `${x.id}@${x.board}/${x.channel}`)).toEqual([
      ...Array.from({ length: 16 }, (_, i) => `${i < 8 ? 'A' : 'B'}0${(i % 8) + 1}@0/${i + 1}`),
      ...Array.from({ length: 8 }, (_, i) => `C0${i + 1}@1/${i + 1}`),
    ]);
  });

  it('refuses two compartments on one lock and addresses outside the protocol\'s range, each by path with the codec\'s words', () => {
    const problems = problemsOf(() => parseConfig(lockboard(tcpBus('8a80'), [
      { id: 'A01', size: 'S', board: 1, channel: 1 },
      { id: 'A02', size: 'S', board: 1, channel: 1 },
      { id: 'A03', size: 'S', board: 40, channel: 2 },
      { id: 'A04', size: 'S', board: 1, channel: 51 },
      { id: 'A05', size: 'S', board: 1, channel: 0 },
    ]), {}));
    expect(messageAt(problems, 'compartments.1.channel')).toMatch(/board 1 channel 1 is already the lock of compartments\.0 \(A01\)/);
    expect(messageAt(problems, 'compartments.2.board')).toMatch(/board 40 is not a whole number 1–31.*highestBoard/);
    expect(messageAt(problems, 'compartments.3.channel')).toMatch(/channel 51 is not a whole number 1–50/);
    expect(messageAt(problems, 'compartments.4.channel')).toMatch(/1-based/);
    const kerong = problemsOf(() => parseConfig(lockboard(tcpBus('kerong-cu', { channelsPerBoard: 12 }), [
      { id: 'A01', size: 'S', board: 15, channel: 1 },
      { id: 'A02', size: 'S', board: 0, channel: 13 },
    ]), {}));
    expect(messageAt(kerong, 'compartments.0.board')).toMatch(/board 15 is not a whole number 0–14.*broadcast/);
    expect(messageAt(kerong, 'compartments.1.channel')).toMatch(/channel 13 is not a whole number 1–12/);
  });

  it('refuses a file that mixes drivers\' fields, naming each one', () => {
    const onBoards = problemsOf(() => parseConfig({
      hardware: { driver: 'lockboard', transport: { kind: 'tcp', host: '127.0.0.1', port: 3030 }, bus: tcpBus('8a80') },
      compartments: [{ id: 'A01', size: 'S', lockChannel: 2, doorSensor: 26 }],
    }, {}));
    expect(messageAt(onBoards, 'hardware.transport')).toMatch(/mixes drivers' fields/);
    expect(messageAt(onBoards, 'compartments.0.lockChannel')).toMatch(/mixes drivers' fields/);
    expect(messageAt(onBoards, 'compartments.0.doorSensor')).toMatch(/mixes drivers' fields/);
    expect(messageAt(onBoards, 'compartments.0.board')).toMatch(/board is missing/);
    const onFirmata = problemsOf(() => parseConfig({
      hardware: { driver: 'firmata', bus: tcpBus('8a80') },
      compartments: [{ id: 'A01', size: 'S', board: 1, channel: 1 }],
    }, {}));
    expect(messageAt(onFirmata, 'hardware.bus')).toMatch(/"driver": "lockboard".*mixes drivers' fields/);
    expect(messageAt(onFirmata, 'compartments.0.board')).toMatch(/mixes drivers' fields/);
    expect(messageAt(onFirmata, 'compartments.0.lockChannel')).toMatch(/lockChannel is missing/);
  });

  it('takes a serial bus at its protocol\'s line, and refuses another speed unless the file says the boards were set to it', () => {
    const serial = (protocol: string, transport: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      parseConfig(lockboard({ protocol, transport: { kind: 'serial', path: '/dev/ttyUSB0', ...transport }, ...extra }), {});
    const hw8a80 = serial('8a80', {}).hardware;
    expect(hw8a80.driver === 'lockboard' && hw8a80.bus.transport).toEqual({ kind: 'serial', path: '/dev/ttyUSB0', baudRate: 9600 });
    const hwKerong = serial('kerong-cu', {}).hardware;
    expect(hwKerong.driver === 'lockboard' && hwKerong.bus.transport).toMatchObject({ baudRate: 19200 });
    const problems = problemsOf(() => serial('kerong-cu', { baudRate: 9600 }));
    expect(messageAt(problems, 'hardware.bus.transport.baudRate')).toMatch(/kerong-cu boards talk at 19200 8N1, not 9600.*customBaudRate/);
    const custom = serial('kerong-cu', { baudRate: 9600 }, { customBaudRate: true }).hardware;
    expect(custom.driver === 'lockboard' && custom.bus.transport).toMatchObject({ baudRate: 9600 });
  });

  it('refuses polling so slow that a silent board would be noticed after more than 8 s', () => {
    const problems = problemsOf(() => parseConfig(lockboard(tcpBus('8a80', { pollMs: 1000, replyMs: 2000, queryRetries: 1, lostAfterPolls: 5 })), {}));
    expect(messageAt(problems, 'hardware.bus.lostAfterPolls')).toMatch(/about 25000 ms.*under 8000 ms/);
    expect(messageAt(problemsOf(() => parseConfig(lockboard(tcpBus('8a80', { pollMs: 5 })), {})), 'hardware.bus.pollMs')).toMatch(/20–1000 ms/);
  });

  it('names an unknown protocol, driver or protocol setting', () => {
    expect(messageAt(problemsOf(() => parseConfig(lockboard(tcpBus('modbus')), {})), 'hardware.bus.protocol')).toMatch(/"8a80".*"kerong-cu"/);
    expect(messageAt(problemsOf(() => parseConfig({ hardware: { driver: 'relays' } }, {})), 'hardware.driver')).toMatch(/"firmata".*"lockboard"/);
    const stray = problemsOf(() => parseConfig(lockboard(tcpBus('kerong-cu', { channelsOneToEightIn: 'first-byte' })), {}));
    expect(stray.map((p) => p.message).join(' ')).toMatch(/channelsOneToEightIn/);
    expect(messageAt(problemsOf(() => parseConfig(lockboard(tcpBus('8a80', { lockedWhen: 'high' })), {})), 'hardware.bus.lockedWhen')).toMatch(/"set".*"clear"/);
  });

  it('lists lock-board problems together with the rest of the file\'s', () => {
    const problems = problemsOf(() => parseConfig({ cabinetId: 'bad id!', ...lockboard(tcpBus('8a80', { pollMs: 5 }), [{ id: 'A01', size: 'XL', board: 99, channel: 1 }]) }, {}));
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['cabinetId', 'hardware.bus.pollMs', 'compartments.0.size', 'compartments.0.board']));
  });

  it('GOVLOCKER_FIRMATA_PORT does not turn a lock-board cabinet into a Firmata one', () => {
    const c = parseConfig(lockboard(tcpBus('8a80')), { GOVLOCKER_FIRMATA_PORT: '4000' });
    expect(c.hardware.driver).toBe('lockboard');
    expect(c.hardware.transport).toBeUndefined();
  });

  it('--board runs the demo cabinet on emulated boards, keeping a lock-board file of the same protocol', () => {
    const demo = loadConfig(undefined, {}, { board: 'kerong-cu' });
    expect(demo.hardware.driver === 'lockboard' && demo.hardware.bus.protocol).toBe('kerong-cu');
    expect(demo.compartments.find((c) => c.id === 'C01')).toMatchObject({ board: 1, channel: 1 });
    const fromFirmata = parseConfig({ hardware: { driver: 'firmata', openTimeoutMs: 3000 }, compartments: [{ id: 'A01', size: 'S', lockChannel: 2, doorSensor: 26 }] }, {}, 'file', { board: '8a80' });
    expect(fromFirmata.hardware).toMatchObject({ driver: 'lockboard', openTimeoutMs: 3000, bus: { protocol: '8a80' } });
    expect(fromFirmata.compartments).toHaveLength(24);
    const mismatch = problemsOf(() => parseConfig(lockboard(tcpBus('8a80')), {}, 'file', { board: 'kerong-cu' }));
    expect(messageAt(mismatch, 'hardware.bus.protocol')).toMatch(/--board kerong-cu/);
  });

  it('keeps the Firmata cabinet as before: the default driver, its pins and its checks', () => {
    const c = loadConfig(undefined, {});
    expect(c.hardware).toMatchObject({ driver: 'firmata', transport: { kind: 'tcp', port: 3030 } });
    expect(c.compartments[0]).toEqual({ id: 'A01', size: 'S', lockChannel: 2, doorSensor: 26 });
    const problems = problemsOf(() => parseConfig({ compartments: [{ id: 'A01', size: 'S', lockChannel: 2, doorSensor: 30 }, { id: 'A02', size: 'S', lockChannel: 2, doorSensor: 2 }] }, {}));
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['compartments.1.lockChannel', 'compartments.1.doorSensor']));
  });
});
