import { spawnSync } from 'node:child_process';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { codec8a80, codecKerong, decodeFrame, hex } from '../../firmware-bridge/lockboard/index.ts';
import { lockId } from '../../firmware-bridge/lockboard/lock-id.ts';
import type { SimCompartment } from '../../simulator/lockboard-bus.ts';
import type { LockboardSettingsInput } from '../../simulator/lockboard-protocol.ts';
import { startSimulator, type RunningSimulator } from '../../simulator/simulator.ts';
import { demoCompartments } from '../../controller/config/demo-cabinet.ts';
import { BusWire, hexBytes as bytes, until } from '../support/lockboard-wire.ts';

// The emulated RS-485 lock boards, byte for byte, with no controller: raw frames in over TCP (as through an
// RS-485-to-Ethernet converter) and over a socat pseudo-terminal, replies read with the codecs' own matchers,
// and the cabinet model watched for exactly the door each open names.

const hasSocat = spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;

const compartment = (id: string, board: number, channel: number): SimCompartment =>
  ({ id, size: 'S', board, channel, lockChannel: lockId(board, channel), doorSensor: lockId(board, channel) });

/** 8A/80: board 1 (channels 1, 2, 9, 17) and board 2 (channels 1, 5). */
const cabinet8a80 = [compartment('A01', 1, 1), compartment('A02', 1, 2), compartment('A03', 1, 9), compartment('A04', 1, 17), compartment('B01', 2, 1), compartment('B05', 2, 5)];
/** Kerong: board 0 locks 1–2 (J01, J02), board 1 locks 1–16 (K01–K16). */
const cabinetKerong = [
  compartment('J01', 0, 1), compartment('J02', 0, 2),
  ...Array.from({ length: 16 }, (_, i) => compartment(`K${String(i + 1).padStart(2, '0')}`, 1, i + 1)),
];

let sim: RunningSimulator | null = null;
const wires: BusWire[] = [];
afterEach(async () => {
  for (const w of wires.splice(0)) w.close();
  await sim?.stop();
  sim = null;
});

async function start(protocol: '8a80' | 'kerong-cu', settings: LockboardSettingsInput = {}, extra: { pty?: boolean; compartments?: SimCompartment[] } = {}) {
  sim = await startSimulator({
    compartments: extra.compartments ?? (protocol === '8a80' ? cabinet8a80 : cabinetKerong),
    controlPort: 0, firmataPort: 0, scannerPort: 0,
    lockboard: { protocol, port: 0, pty: extra.pty ?? false, settings: { realTiming: false, pulseMs: 40, ...settings } },
  });
  return sim;
}

async function wire(): Promise<BusWire> {
  const w = await BusWire.tcp(sim!.ports.lockboard!);
  wires.push(w);
  return w;
}

const url = (path: string) => `http://127.0.0.1:${sim!.ports.control}${path}`;
async function post(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url(path), { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  return { status: r.status, json: await r.json() };
}
const getJson = async (path: string) => (await fetch(url(path))).json() as Promise<any>;
const doors = () => sim!.model.snapshot();
const pulses = () => Object.fromEntries(Object.entries(doors()).map(([id, d]) => [id, d.latchPulses]));

// Host-side requests and reply matchers, from the codecs (nothing re-framed here).
const s8 = (over: Partial<codec8a80.Settings8a80> = {}) => codec8a80.settingsSchema.parse(over);
const lock8 = (board: number, channel: number) => { const p = codec8a80.parseLockAddress({ board, channel }); if (!p.ok) throw new Error(p.message); return p.value; };
const board8 = (board: number) => { const p = codec8a80.parseBoardAddress(board); if (!p.ok) throw new Error(p.message); return p.value; };
const lockK = (board: number, channel: number) => { const p = codecKerong.parseLockAddress({ board, channel }); if (!p.ok) throw new Error(p.message); return p.value; };
const boardK = (board: number) => { const p = codecKerong.parseBoardAddress(board); if (!p.ok) throw new Error(p.message); return p.value; };

describe('8A/80 board emulator over TCP', () => {
  it('answers every request of the hardware sheet byte for byte', async () => {
    await start('8a80');
    const w = await wire();
    sim!.model.force('A02'); // channels 1, 9, 17 shut, the rest open or unwired
    expect(hex(await w.exchange(bytes('80 01 01 33 B3'), 5))).toBe('80 01 01 11 91'); // shut: 11
    expect(hex(await w.exchange(bytes('80 01 00 33 B2'), 7))).toBe('80 01 01 01 01 33 B3');
    expect(hex(await w.exchange(bytes('8A 01 01 11 9B'), 5))).toBe('8A 01 01 00 8A');
    expect(hex(await w.exchange(bytes('80 01 01 33 B3'), 5))).toBe('80 01 01 00 80'); // now open: 00
    expect(hex(await w.exchange(bytes('8A 02 01 11 98'), 5))).toBe('8A 02 01 00 89');
  });

  it('an 8-channel board answers a whole-board query with three status bytes, as seen on hardware', async () => {
    await start('8a80', { channelsPerBoard: 8 }, { compartments: [compartment('A01', 1, 1), compartment('A02', 1, 2)] });
    const w = await wire();
    for (const id of ['A01', 'A02']) sim!.model.force(id);
    expect(hex(await w.exchange(bytes('80 01 00 33 B2'), 7))).toBe('80 01 00 00 00 33 B2');
  });

  it('a whole-board reply is as long as the board\'s channel count needs', async () => {
    for (const [channelsPerBoard, statusBytes] of [[24, 3], [32, 4], [50, 7]] as const) {
      await start('8a80', { channelsPerBoard });
      const w = await wire();
      const request = codec8a80.queryBoard(board8(1));
      const got = await w.transact(codec8a80.encodeRequest(request), codec8a80.expectReply(request));
      expect(got.value, `${channelsPerBoard} channels`).toMatchObject({ kind: 'board-status', statusBytes });
      w.close();
      await sim!.stop();
      sim = null;
    }
  });

  it('an open pulses exactly that door\'s latch: it springs open, the relay drops after the pulse', async () => {
    await start('8a80');
    const w = await wire();
    const request = codec8a80.openLock(lock8(2, 5));
    const got = await w.transact(codec8a80.encodeRequest(request), codec8a80.expectReply(request));
    expect(got.value).toEqual({ kind: 'opened', board: 2, channel: 5, status: 0 });
    expect(pulses()).toEqual({ A01: 0, A02: 0, A03: 0, A04: 0, B01: 0, B05: 1 });
    expect(doors().B05).toMatchObject({ open: true, relay: true });
    await until(() => !doors().B05!.relay, 1000, 'the 40 ms pulse to end');
    expect(Object.values(doors()).filter((d) => d.open)).toHaveLength(1);
    // An open of a channel with no lock wired is answered, and fires nothing in the cabinet.
    expect(hex(await w.exchange(bytes('8A 01 03 11 99'), 5))).toBe('8A 01 03 00 88');
    expect(Object.values(pulses()).reduce((a, b) => a + b)).toBe(1);
  });

  it('query-all reflects the doors with both polarities and both bit orders', async () => {
    const cases = [
      { lockedWhen: 'set', channelsOneToEightIn: 'last-byte', raw: '80 01 00 01 00 33 B3' },
      { lockedWhen: 'set', channelsOneToEightIn: 'first-byte', raw: '80 01 00 01 00 33 B3' },
      { lockedWhen: 'clear', channelsOneToEightIn: 'last-byte', raw: '80 01 01 00 03 33 B0' },
      { lockedWhen: 'clear', channelsOneToEightIn: 'first-byte', raw: '80 01 03 00 01 33 B0' },
    ] as const;
    for (const c of cases) {
      await start('8a80', { lockedWhen: c.lockedWhen, channelsOneToEightIn: c.channelsOneToEightIn });
      const w = await wire();
      // Channel 9 shut; channels 1, 2 and 17 open; the rest unwired (no contact: bit 0).
      for (const id of ['A01', 'A02', 'A04']) sim!.model.force(id);
      expect(hex(await w.exchange(bytes('80 01 00 33 B2'), 7)), JSON.stringify(c)).toBe(c.raw);
      const settings = s8({ lockedWhen: c.lockedWhen, channelsOneToEightIn: c.channelsOneToEightIn });
      const request = codec8a80.queryBoard(board8(1));
      const got = await w.transact(codec8a80.encodeRequest(request), codec8a80.expectReply(request, settings));
      const locks = got.value && 'locks' in got.value ? got.value.locks : [];
      expect(locks.filter((l) => [1, 2, 9, 17].includes(l.channel)).map((l) => [l.channel, l.locked])).toEqual([[1, false], [2, false], [9, true], [17, false]]);
      // One lock at a time: 11 means shut on `set` boards, open on `clear` ones.
      expect(hex(await w.exchange(bytes('80 01 09 33 BB'), 5))).toBe(c.lockedWhen === 'set' ? '80 01 09 11 99' : '80 01 09 00 88');
      w.close();
      await sim!.stop();
      sim = null;
    }
  });

  it('refuses open-all, multi-open and hold-on frames: nothing opens, nothing answers, every one is logged', async () => {
    await start('8a80');
    const w = await wire();
    const forbidden = ['8A 01 00 11 9A', '90 01 01 11 81', '9A 01 01 11 8B', '9B 01 01 11 8A', '80 00 00 33 B3', '8A FF 01 11 65'];
    for (const frame of forbidden) expect((await w.quiet(bytes(frame), 40)).length, frame).toBe(0);
    expect(Object.values(pulses()).every((n) => n === 0)).toBe(true);
    const bus = await getJson('/sim/bus');
    expect(bus.counts).toMatchObject({ refused: forbidden.length, opens: 0 });
    expect(bus.refused.map((e: { frame: string }) => e.frame)).toEqual(forbidden);
    expect(bus.refused[0]).toMatchObject({ request: 'refused', unanswered: 'refused', reply: null, reason: expect.stringMatching(/every lock/) });
    expect((await getJson('/sim/state')).bus).toMatchObject({ protocol: '8a80', refused: forbidden.length });
  });

  it('a frame with a wrong check byte is logged as bad and left unanswered; noise around requests is skipped', async () => {
    await start('8a80');
    const w = await wire();
    expect((await w.quiet(bytes('8A 01 01 11 00'))).length).toBe(0);
    expect(doors().A01!.latchPulses).toBe(0);
    expect(hex(await w.exchange(bytes('FF 00 80 01 01 33 B3'), 5))).toBe('80 01 01 11 91');
    const bus = await getJson('/sim/bus');
    expect(bus.counts).toMatchObject({ badFrames: 1, strayBytes: 2, refused: 0 });
    expect(bus.log.map((e: { request: string }) => e.request)).toEqual(['bad-frame', 'query-lock']);
    // `since` keeps the log after a point: a test can look at only what its own step sent.
    const lastSeq = bus.log.at(-1).seq;
    await w.exchange(bytes('80 01 00 33 B2'), 7);
    const later = await getJson(`/sim/bus?since=${lastSeq}`);
    expect(later.log).toHaveLength(1);
    expect(later.log[0]).toMatchObject({ request: 'query-board', board: 1, frame: '80 01 00 33 B2', reply: '80 01 01 01 03 33 B1' }); // channels 1, 2, 9, 17 shut
  });

  it('a request for a board that does not exist, or a channel past the board\'s last, gets no answer', async () => {
    await start('8a80');
    const w = await wire();
    expect((await w.quiet(codec8a80.encodeRequest(codec8a80.queryBoard(board8(3))))).length).toBe(0);
    expect((await w.quiet(codec8a80.encodeRequest(codec8a80.openLock(lock8(3, 1))))).length).toBe(0);
    expect((await w.quiet(codec8a80.encodeRequest(codec8a80.queryLock(lock8(1, 30))))).length).toBe(0);
    const log = (await getJson('/sim/bus')).log;
    expect(log.map((e: { unanswered: string }) => e.unanswered)).toEqual(['no-such-board', 'no-such-board', 'no-such-channel']);
    expect(hex(await w.exchange(bytes('80 02 01 33 B0'), 5))).toBe('80 02 01 11 92'); // the bus is fine
  });

  it('serves one TCP client at a time: a second is closed at once, the first keeps its bus', async () => {
    await start('8a80');
    const first = await wire();
    await until(() => sim!.lockboard!.hostConnected, 1000, 'host');
    const second = await wire();
    await until(() => second.closed, 1000, 'the second client closed');
    expect(hex(await first.exchange(bytes('80 01 01 33 B3'), 5))).toBe('80 01 01 11 91');
    expect(sim!.lockboard!.counts.refusedClients).toBe(1);
    expect((await getJson('/sim/state'))).toMatchObject({ board: 'connected', host: 'connected' });
    first.close();
    await until(() => !sim!.lockboard!.hostConnected, 1000, 'host gone');
    const third = await wire();
    expect(hex(await third.exchange(bytes('80 01 01 33 B3'), 5))).toBe('80 01 01 11 91');
  });
});

describe('lock-board faults', () => {
  it('a silent board answers nothing and fires nothing; the other boards carry on', async () => {
    await start('8a80');
    const w = await wire();
    expect((await post('/sim/bus/faults', { board: 1, fault: 'silent' })).json).toMatchObject({ board: 1, fault: 'silent', doors: { '1': 'A01', '2': 'A02', '9': 'A03', '17': 'A04' } });
    expect((await w.quiet(bytes('8A 01 01 11 9B'))).length).toBe(0);
    expect((await w.quiet(bytes('80 01 00 33 B2'))).length).toBe(0);
    expect(doors().A01).toMatchObject({ open: false, latchPulses: 0 });
    expect(hex(await w.exchange(bytes('80 02 01 33 B0'), 5))).toBe('80 02 01 11 92');
    expect((await getJson('/sim/state')).bus.boards).toEqual({ '1': { fault: 'silent' }, '2': { fault: null } });
    await post('/sim/bus/faults', { board: 1, fault: null });
    expect(hex(await w.exchange(bytes('80 01 01 33 B3'), 5))).toBe('80 01 01 11 91');
  });

  it('stray bytes before a reply: FA FD 99 99 then the frame, which the codec\'s reader still finds', async () => {
    await start('8a80');
    const w = await wire();
    await post('/sim/bus/faults', { board: 1, fault: 'stray-bytes' });
    expect(hex(await w.exchange(bytes('80 01 01 33 B3'), 9))).toBe('FA FD 99 99 80 01 01 11 91');
    const request = codec8a80.queryBoard(board8(1));
    const got = await w.transact(codec8a80.encodeRequest(request), codec8a80.expectReply(request));
    expect(got.value).toMatchObject({ kind: 'board-status', board: 1 });
    expect(got.skipped.strayBytes).toBe(4);
    // Other noise can be given.
    await post('/sim/bus/faults', { board: 1, fault: 'stray-bytes', strayBytes: '00 FF' });
    expect(hex(await w.exchange(bytes('80 01 01 33 B3'), 7))).toBe('00 FF 80 01 01 11 91');
  });

  it('a reply with a wrong check byte is ignored by the codec', async () => {
    await start('kerong-cu');
    const w = await wire();
    await post('/sim/bus/faults', { board: 1, fault: 'bad-check' });
    const reply = await w.exchange(bytes('02 10 30 03 45'), 9);
    const request = codecKerong.queryBoard(boardK(1));
    expect(decodeFrame(codecKerong.expectReply(request), reply)).toEqual({ ok: false, reason: 'bad-check' });
    const got = await w.transact(codecKerong.encodeRequest(request), codecKerong.expectReply(request), 150);
    expect(got.value).toBeNull();
    expect(got.skipped.badChecks).toBe(1);
  });

  it('a board that opens but never answers the open still answers queries', async () => {
    await start('8a80');
    const w = await wire();
    await post('/sim/bus/faults', { board: 2, fault: 'no-open-reply' });
    expect((await w.quiet(bytes('8A 02 01 11 98'))).length).toBe(0);
    expect(doors().B01).toMatchObject({ open: true, latchPulses: 1 });
    expect(hex(await w.exchange(bytes('80 02 01 33 B0'), 5))).toBe('80 02 01 00 83');
    expect((await getJson('/sim/bus')).log[0]).toMatchObject({ request: 'open', door: 'B01', unanswered: 'no-open-reply', reply: null });
  });

  it('a reply for the wrong lock or board is skipped by the codec as another address', async () => {
    await start('8a80');
    const w = await wire();
    await post('/sim/bus/faults', { board: 1, fault: 'wrong-address' });
    expect(hex(await w.exchange(bytes('8A 01 01 11 9B'), 5))).toBe('8A 01 02 00 89'); // channel 2's reply
    expect(doors().A01!.open).toBe(true); // the right latch fired all the same
    const request = codec8a80.queryBoard(board8(1));
    const got = await w.transact(codec8a80.encodeRequest(request), codec8a80.expectReply(request), 150);
    expect(got.value).toBeNull();
    expect(got.skipped.wrongAddress).toBe(1);
    const one = codec8a80.queryLock(lock8(1, 24));
    expect(hex(await w.exchange(codec8a80.encodeRequest(one), 5))).toBe('80 01 17 00 96'); // channel 23 answers for 24
  });

  it('jam and sensor-stuck work on lock-board doors: the query tells what the contact says', async () => {
    await start('8a80');
    const w = await wire();
    await post('/sim/faults', { door: 'A01', fault: 'jam' });
    expect(hex(await w.exchange(bytes('8A 01 01 11 9B'), 5))).toBe('8A 01 01 00 8A'); // the board fired
    expect(doors().A01).toMatchObject({ open: false, latchPulses: 1 });
    expect(hex(await w.exchange(bytes('80 01 01 33 B3'), 5))).toBe('80 01 01 11 91'); // still shut
    await post('/sim/faults', { door: 'A02', fault: 'sensor-stuck' });
    await post('/sim/doors/A02/force');
    expect(doors().A02).toMatchObject({ open: true, sensorOpen: false });
    expect(hex(await w.exchange(bytes('80 01 02 33 B0'), 5))).toBe('80 01 02 11 92'); // the contact lies: shut
  });

  it('a pulled cable resets the client and refuses new ones; a hung one keeps the link and answers nothing', async () => {
    await start('8a80');
    const w = await wire();
    await until(() => sim!.lockboard!.hostConnected, 1000, 'host');
    await post('/sim/board/disconnect', { mode: 'drop' });
    await until(() => w.closed, 1000, 'the client reset');
    expect((await getJson('/sim/state'))).toMatchObject({ board: 'disconnected', host: 'waiting' });
    const refused = await wire();
    await until(() => refused.closed, 1000, 'a new client refused');
    await post('/sim/board/connect');
    const back = await wire();
    expect(hex(await back.exchange(bytes('80 01 01 33 B3'), 5))).toBe('80 01 01 11 91');
    await post('/sim/board/disconnect', { mode: 'silent' });
    expect((await back.quiet(bytes('8A 01 01 11 9B'))).length).toBe(0);
    expect(back.closed).toBe(false);
    expect(doors().A01!.latchPulses).toBe(0);
    await post('/sim/board/connect');
    expect(hex(await back.exchange(bytes('80 01 01 33 B3'), 5))).toBe('80 01 01 11 91');
  });

  it('the control API names what it cannot do', async () => {
    await start('8a80');
    expect(await post('/sim/bus/faults', { board: 7, fault: 'silent' })).toMatchObject({ status: 404, json: { error: expect.stringMatching(/no board 7.*1, 2/) } });
    expect((await post('/sim/bus/faults', { board: 1, fault: 'melted' })).status).toBe(400);
    expect((await post('/sim/bus/faults', { board: 1, fault: 'stray-bytes', strayBytes: 'zz' })).status).toBe(400);
    expect((await post('/sim/doors/A01/item', { present: 'yes' })).status).toBe(400);
    expect((await post('/sim/doors/Z99/item', { present: true })).status).toBe(404);
  });
});

describe('Kerong KR-CU board emulator over TCP', () => {
  it('answers every request of the hardware sheet, unlocks exactly the lock its ADDR names', async () => {
    await start('kerong-cu');
    const w = await wire();
    expect(hex(await w.exchange(bytes('02 00 30 03 35'), 9))).toBe('02 00 35 03 00 00 00 03 3D'); // locks 1–2 shut
    expect(hex(await w.exchange(bytes('02 10 30 03 45'), 9))).toBe('02 10 35 FF FF 00 00 03 48');
    expect(hex(await w.exchange(bytes('02 00 31 03 36'), 9))).toBe('02 00 35 02 00 00 00 03 3C'); // lock 1 now open
    expect(pulses()).toMatchObject({ J01: 1, J02: 0, K01: 0 });
    await w.exchange(bytes('02 01 31 03 37'), 9);
    expect(pulses()).toMatchObject({ J01: 1, J02: 1, K01: 0 });
    await w.exchange(bytes('02 10 31 03 46'), 9);
    expect(pulses()).toMatchObject({ J01: 1, J02: 1, K01: 1, K02: 0 });
    expect(Object.values(pulses()).reduce((a, b) => a + b)).toBe(3);
  });

  it('item bits follow the compartments\' occupied state: the hardware sheet\'s example', async () => {
    await start('kerong-cu');
    const w = await wire();
    for (let n = 9; n <= 16; n++) sim!.model.force(`K${String(n).padStart(2, '0')}`);
    expect((await post('/sim/doors/K09/item', { present: true })).json).toMatchObject({ occupied: true, open: true });
    await post('/sim/doors/K16/item', { present: true });
    expect(hex(await w.exchange(bytes('02 10 30 03 45'), 9))).toBe('02 10 35 FF 00 00 81 03 CA');
    // A forgotten item in a closed compartment, taken out again.
    await post('/sim/doors/K01/item', { present: true });
    const request = codecKerong.queryBoard(boardK(1));
    let got = await w.transact(codecKerong.encodeRequest(request), codecKerong.expectReply(request));
    expect(got.value?.locks.filter((l) => l.itemPresent).map((l) => l.channel)).toEqual([1, 9, 16]);
    expect(got.value?.locks[0]).toEqual({ channel: 1, locked: true, itemPresent: true });
    await post('/sim/doors/K01/item', { present: false });
    got = await w.transact(codecKerong.encodeRequest(request), codecKerong.expectReply(request));
    expect(got.value?.locks.filter((l) => l.itemPresent).map((l) => l.channel)).toEqual([9, 16]);
    expect((await getJson('/sim/state')).doors.K01.occupied).toBe(false);
  });

  it('hook polarity follows the setting', async () => {
    await start('kerong-cu', { lockedWhen: 'clear' });
    const w = await wire();
    sim!.model.force('J02');
    // Shut J01 reads 0, open J02 reads 1; unwired locks 3–16 read 0 (no contact).
    expect(hex(await w.exchange(bytes('02 00 30 03 35'), 9))).toBe('02 00 35 02 00 00 00 03 3C');
    const request = codecKerong.queryBoard(boardK(0));
    const got = await w.transact(codecKerong.encodeRequest(request), codecKerong.expectReply(request, codecKerong.settingsSchema.parse({ lockedWhen: 'clear' })));
    expect(got.value?.locks.slice(0, 2)).toEqual([{ channel: 1, locked: true, itemPresent: false }, { channel: 2, locked: false, itemPresent: false }]);
  });

  it('without the unlock reply, an unlock fires the latch and answers nothing; a 30 query confirms it', async () => {
    await start('kerong-cu', { unlockReply: false });
    const w = await wire();
    expect((await w.quiet(codecKerong.encodeRequest(codecKerong.openLock(lockK(1, 3))))).length).toBe(0);
    expect(doors().K03).toMatchObject({ open: true, latchPulses: 1 });
    const request = codecKerong.queryBoard(boardK(1));
    const got = await w.transact(codecKerong.encodeRequest(request), codecKerong.expectReply(request));
    expect(got.value?.locks[2]).toMatchObject({ channel: 3, locked: false });
    expect((await getJson('/sim/bus')).log[0]).toMatchObject({ request: 'open', door: 'K03', unanswered: 'no-unlock-reply' });
  });

  it('refuses unlock-all (33) and the broadcast: nothing opens, both logged', async () => {
    await start('kerong-cu');
    const w = await wire();
    for (const frame of ['02 00 33 03 38', '02 10 33 03 48', '02 F0 32 03 27', '02 F0 31 03 26']) expect((await w.quiet(bytes(frame), 40)).length, frame).toBe(0);
    expect(Object.values(pulses()).every((n) => n === 0)).toBe(true);
    const bus = await getJson('/sim/bus');
    expect(bus.counts.refused).toBe(4);
    expect(bus.refused.map((e: { frame: string }) => e.frame)).toEqual(['02 00 33 03 38', '02 10 33 03 48', '02 F0 32 03 27', '02 F0 31 03 26']);
  });

  it('boards that do not exist stay silent; a wrong-address board answers as its neighbour', async () => {
    await start('kerong-cu');
    const w = await wire();
    expect((await w.quiet(codecKerong.encodeRequest(codecKerong.queryBoard(boardK(5))))).length).toBe(0);
    expect((await w.quiet(codecKerong.encodeRequest(codecKerong.openLock(lockK(5, 1))))).length).toBe(0);
    await post('/sim/bus/faults', { board: 0, fault: 'wrong-address' });
    expect(hex(await w.exchange(bytes('02 00 30 03 35'), 9))).toBe('02 10 35 03 00 00 00 03 4D');
  });
});

describe('real serial timing', () => {
  it('replies after the request and the reply have crossed the line at 9600 / 19200 baud', async () => {
    await start('8a80', { realTiming: true, turnaroundMs: 2 });
    let w = await wire();
    let t0 = performance.now();
    await w.exchange(bytes('80 01 00 33 B2'), 7);
    // 5 + 7 bytes at 9600 baud, 10 bits a byte: 12.5 ms, plus the turnaround (exchange adds 15 ms of listening).
    expect(performance.now() - t0 - 15).toBeGreaterThanOrEqual(12);
    w.close();
    await sim!.stop();
    await start('kerong-cu', { realTiming: true, turnaroundMs: 0 });
    w = await wire();
    t0 = performance.now();
    w.send(bytes('02 10 30 03 45'));
    await w.take(9);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(6); // 14 bytes at 19200: 7.3 ms
  });

  it('an 8A/80 board that answers an open a second later', async () => {
    await start('8a80', { openReplyDelayMs: 300 });
    const w = await wire();
    const t0 = performance.now();
    w.send(bytes('8A 01 01 11 9B'));
    await until(() => doors().A01!.open, 200, 'the latch fires at once');
    expect(hex(await w.take(5, 1000))).toBe('8A 01 01 00 8A');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
  });
});

describe.skipIf(!hasSocat)('lock-board emulator over a pseudo-terminal', () => {
  let port: SerialPort | null = null;
  afterEach(async () => {
    if (port?.isOpen) await new Promise((r) => port!.close(r));
    port = null;
  });

  for (const protocol of ['8a80', 'kerong-cu'] as const) {
    it(`${protocol}: the controller's end of the socat pair carries requests and replies`, async () => {
      await start(protocol, {}, { pty: true });
      expect(sim!.lockboardPty).toMatch(/lockboard-host$/);
      port = new SerialPort({ path: sim!.lockboardPty!, baudRate: protocol === '8a80' ? 9600 : 19200 });
      await new Promise((resolve, reject) => port!.once('open', resolve).once('error', reject));
      const w = new BusWire(port);
      if (protocol === '8a80') {
        expect(hex(await w.exchange(bytes('80 01 01 33 B3'), 5))).toBe('80 01 01 11 91');
        expect(hex(await w.exchange(bytes('8A 02 01 11 98'), 5))).toBe('8A 02 01 00 89');
        expect(doors().B01).toMatchObject({ open: true, latchPulses: 1 });
        expect((await w.quiet(bytes('8A 01 00 11 9A'))).length).toBe(0);
      } else {
        expect(hex(await w.exchange(bytes('02 10 31 03 46'), 9))).toBe('02 10 35 FE FF 00 00 03 47');
        expect(doors().K01).toMatchObject({ open: true, latchPulses: 1 });
        expect((await w.quiet(bytes('02 00 33 03 38'))).length).toBe(0);
      }
      const bus = await getJson('/sim/bus');
      expect(bus.pty).toBe(sim!.lockboardPty);
      expect(bus.counts.refused).toBe(1);
      expect(bus.log.every((e: { link: string }) => e.link === 'serial')).toBe(true);
      expect((await getJson('/sim/state')).host).toBe('connected');
    });
  }
});

describe('startSimulator with a lock-board bus', () => {
  it('refuses compartments whose lock channel is not lockId(board, channel)', async () => {
    const wrong = { ...compartment('A01', 1, 1), lockChannel: 5 };
    await expect(startSimulator({ compartments: [wrong], controlPort: 0, firmataPort: 0, scannerPort: 0, lockboard: { protocol: '8a80' } })).rejects.toThrow(/lockId\(1, 1\) = 257/);
    await expect(startSimulator({ compartments: demoCompartments(), controlPort: 0, firmataPort: 0, scannerPort: 0, lockboard: { protocol: '8a80' } })).rejects.toThrow(/A01/);
    await expect(startSimulator({ compartments: [compartment('A01', 15, 1)], controlPort: 0, firmataPort: 0, scannerPort: 0, lockboard: { protocol: 'kerong-cu' } })).rejects.toThrow(/board 15/);
    await expect(startSimulator({ compartments: cabinetKerong, controlPort: 0, firmataPort: 0, scannerPort: 0, lockboard: { protocol: 'kerong-cu', settings: { channelsPerBoard: 20 } } })).rejects.toThrow(/at most 16/);
  });

  it('without a bus, /sim/bus says so and the item endpoint still works', async () => {
    sim = await startSimulator({ compartments: demoCompartments(), controlPort: 0, firmataPort: 0, scannerPort: 0 });
    expect(sim.ports.lockboard).toBeUndefined();
    expect((await fetch(url('/sim/bus'))).status).toBe(404);
    expect((await post('/sim/doors/A01/item', { present: true })).json).toMatchObject({ occupied: true, open: false });
    expect((await getJson('/sim/state')).bus).toBeUndefined();
  });

  it('the page\'s stream names each door\'s board and channel', async () => {
    await start('8a80');
    const response = await fetch(url('/sim/stream'), { headers: { accept: 'text/event-stream' } });
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('event: state')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toContain('"id":"B05","lockChannel":517,"doorSensor":517,"board":2,"channel":5');
    expect(text).toContain('"bus":{"protocol":"8a80","refused":0,"boards":{"1":{"fault":null},"2":{"fault":null}}}');
  });
});
