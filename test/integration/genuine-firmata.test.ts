import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import firmataIo from 'firmata-io';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FirmataBoard, type FirmataBoardOptions } from '../../firmware-bridge/firmata/index.ts';
import type { DoorEdge, LinkState } from '../../firmware-bridge/ports.ts';
import { demoCompartments } from '../../controller/config/demo-cabinet.ts';
import { CabinetModel } from '../../simulator/cabinet-model.ts';
import { loadStandardFirmata, standardFirmataPath } from '../../simulator/genuine-firmata/firmata-hex.ts';
import { startGenuineBoard, type GenuineBoard } from '../../simulator/genuine-firmata/genuine-board.ts';
import { unoCompartments } from '../../simulator/genuine-firmata/uno-wiring.ts';
import { startSimulator } from '../../simulator/simulator.ts';
import { caseBody, until } from '../support/cabinet-harness.ts';
import { call, startCabinet } from '../support/govlocker-process.ts';
import { sleep, waitFor, type FirmataClient } from './firmata-fixtures.ts';

// The controller's Firmata driver against the firmware a real board runs: StandardFirmata 2.4 for the Uno
// (avrgirl-arduino's prebuilt hex, fetched from the npm registry the first time) on an emulated ATmega328P,
// paced to real time, over TCP. One board serves the whole file: it boots once (about 2 s).

const compartments = unoCompartments();
const lockOf = (id: string): number => compartments.find((c) => c.id === id)!.lockChannel;
const sensorOf = (id: string): number => compartments.find((c) => c.id === id)!.doorSensor;
const relayPins = compartments.map((c) => c.lockChannel);

let model: CabinetModel;
let board: GenuineBoard;
let driver: FirmataBoard | null = null;
let edges: DoorEdge[] = [];
let links: LinkState[] = [];
/** Rising edges on D13 since power-on. */
let blinks = 0;
/** Hosts other than the driver; a failed test must not leave one holding the board's only slot. */
const plainSockets: net.Socket[] = [];

async function startDriver(overrides: Partial<FirmataBoardOptions> = {}): Promise<FirmataBoard> {
  driver = new FirmataBoard({
    transport: { kind: 'tcp', host: '127.0.0.1', port: board.port },
    pulseMs: 60,
    debounceMs: 10,
    lockChannels: relayPins,
    doorSensors: compartments.map((c) => c.doorSensor),
    reconnect: { minMs: 20, maxMs: 100 },
    heartbeat: { intervalMs: 100, timeoutMs: 1000 },
    ...overrides,
  });
  edges = [];
  links = [];
  driver.doors.onEdge((edge) => edges.push(edge));
  driver.onLink((state) => links.push(state));
  await driver.start({ readyTimeoutMs: 8000 });
  return driver;
}

/** A plain firmata-io host (no johnny-five, no driver), as another program on the controller PC would be. */
async function plainHost(): Promise<{ io: FirmataClient; socket: net.Socket; strings: string[] }> {
  const socket = net.createConnection({ host: '127.0.0.1', port: board.port });
  socket.setNoDelay(true);
  plainSockets.push(socket);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  // The board is up already and will not greet again: ask for the version after 100 ms, as the driver does.
  const io = new firmataIo.Firmata(socket, { reportVersionTimeout: 100 });
  io.on('error', () => {});
  const strings: string[] = [];
  io.on('string', (text: string) => strings.push(text));
  await new Promise<void>((resolve, reject) => {
    io.once('ready', () => resolve());
    socket.once('close', () => reject(new Error('closed during the handshake')));
  });
  return { io, socket, strings };
}

async function leave(socket: net.Socket): Promise<void> {
  socket.destroy();
  await waitFor(() => !board.hostConnected, 1000, 'the board to see its host gone');
}

describe('the Firmata driver against the genuine StandardFirmata (Uno, avr8js)', () => {
  beforeAll(async () => {
    model = new CabinetModel(compartments.map(({ id, lockChannel, doorSensor }) => ({ id, lockChannel, doorSensor })));
    // Fetches the hex on first use; without the registry this fails every test here with the reason.
    board = await startGenuineBoard(model, { port: 0, log: (line) => console.info(line) });
    let lit = false;
    board.machine.onPins(() => {
      if (!lit && board.machine.pin(13) === 'high') blinks++;
      lit = board.machine.pin(13) === 'high';
    });
  }, 120_000);

  afterEach(async () => {
    await driver?.stop();
    driver = null;
    for (const socket of plainSockets.splice(0)) socket.destroy();
    board.connect();
    await waitFor(() => !board.hostConnected, 1000, 'the board to see its host gone'); // it has one slot
    for (const [id, door] of Object.entries(model.snapshot())) {
      if (door.fault) model.setFault(id, null);
      if (door.open) model.close(id);
    }
  });

  afterAll(async () => {
    const stats = board?.machine.stats();
    if (stats) console.info(`genuine firmware: ${Math.round(stats.emulatedMs)} ms emulated in ${Math.round(stats.wallMs)} ms, ${Math.round((100 * stats.busyMs) / stats.wallMs)}% of it spent executing, ${Math.round(stats.skippedMs)} ms skipped`);
    await board?.stop();
  });

  it('completes the handshake with the unmodified driver while the Uno boots, and drives every relay LOW', async () => {
    const started = performance.now();
    const b = await startDriver();
    expect(b.link).toBe('ok');
    expect(performance.now() - started).toBeLessThan(6000); // boot (≈1.9 s of version blinks) + handshake
    expect(Math.abs(board.machine.baudRate - 57_600) / 57_600).toBeLessThan(0.03); // 58,823 baud, as on a real Uno
    expect(relayPins.map((pin) => board.machine.pin(pin))).toEqual(relayPins.map(() => 'low'));
    expect(blinks).toBe(2 + 4); // it blinked "2.4" on D13 while booting: why D13 carries no relay and no switch
  });

  it('a pulse energises exactly one relay pin, the door springs open in the model, and the relay drops', async () => {
    const b = await startDriver({ pulseMs: 80 });
    const energised = new Set<string>();
    const off = board.machine.onPins(() => {
      const high = relayPins.filter((pin) => board.machine.pin(pin) === 'high');
      if (high.length > 0) energised.add(high.join(','));
    });
    await b.locks.pulse(lockOf('A03'));
    off();
    expect([...energised]).toEqual([String(lockOf('A03'))]);
    expect(board.machine.pin(lockOf('A03'))).toBe('low');
    expect(model.snapshot().A03).toMatchObject({ open: true, latchPulses: 1, relay: false });
  });

  it('a door switch reaches the firmware: with the Firmata 2.4 pull-up (INPUT, then write HIGH) an open door reads HIGH and each edge is reported', async () => {
    const { io, socket, strings } = await plainHost();
    expect(io.firmware).toMatchObject({ name: 'StandardFirmata.ino', version: { major: 2, minor: 4 } });
    expect(io.pins[sensorOf('A05')]!.supportedModes).not.toContain(io.MODES.PULLUP); // Firmata 2.4 has no PULLUP mode
    const sensor = sensorOf('A05'); // A1
    const reports: number[] = [];
    io.pinMode(sensor, io.MODES.INPUT);
    io.digitalWrite(sensor, 1);
    io.digitalRead(sensor, (value) => reports.push(value));
    await waitFor(() => reports.length > 0, 1000, 'the first report');
    expect(board.machine.pin(sensor)).toBe('input-pullup');
    expect(reports.at(-1)).toBe(0);
    model.force('A05');
    await waitFor(() => reports.at(-1) === 1, 1000, 'the open door reported HIGH');
    model.close('A05');
    await waitFor(() => reports.at(-1) === 0, 1000, 'the closed door reported LOW');
    // A PULLUP mode request is refused with a string message, and the pin keeps its mode.
    const modeBefore = board.machine.pin(sensorOf('A03'));
    io.pinMode(sensorOf('A03'), io.MODES.PULLUP);
    await waitFor(() => strings.length > 0, 1000, 'the firmware to answer');
    expect(strings).toEqual(['Unknown pin mode']);
    expect(board.machine.pin(sensorOf('A03'))).toBe(modeBefore);
    await leave(socket);
  });

  it('on Firmata 2.4 a relay written on the same port turns a closed door\'s pull-up off (firmata-io writes its last reported LOW back)', async () => {
    // D8 (A07's relay) and D10 (A01's switch) share Firmata port 1. A fix in the driver must keep that bit HIGH.
    const { io, socket } = await plainHost();
    const sensor = sensorOf('A01');
    io.pinMode(sensor, io.MODES.INPUT);
    io.digitalWrite(sensor, 1);
    const reports: number[] = [];
    io.digitalRead(sensor, (value) => reports.push(value));
    await waitFor(() => reports.length > 0, 1000, 'the first report');
    expect(board.machine.pin(sensor)).toBe('input-pullup');
    io.pinMode(lockOf('A07'), io.MODES.OUTPUT);
    io.digitalWrite(lockOf('A07'), 0);
    await waitFor(() => board.machine.pin(sensor) !== 'input-pullup', 1000, 'the pull-up to go');
    expect(board.machine.pin(sensor)).toBe('input');
    model.force('A01');
    await sleep(100);
    expect(reports.at(-1)).toBe(0); // the open door floats and is never seen
    await leave(socket);
  });

  it('the driver sees the door switch edge: StandardFirmata 2.4 has no PULLUP mode, so the driver uses INPUT written HIGH', async () => {
    const b = await startDriver();
    await b.locks.pulse(lockOf('A02'), { doorSensor: sensorOf('A02') });
    expect(model.snapshot().A02!.open).toBe(true);
    await waitFor(() => edges.some((edge) => edge.sensor === sensorOf('A02') && edge.open), 500, 'the open edge');
  });

  it('a host that crashes with a relay energised leaves it on; the driver, reconnecting, drives every relay LOW first', async () => {
    const { io, socket } = await plainHost();
    io.pinMode(lockOf('A06'), io.MODES.OUTPUT);
    io.digitalWrite(lockOf('A06'), 1);
    await waitFor(() => model.snapshot().A06!.relay, 1000, 'the relay on');
    await leave(socket); // the process died: its socket is gone, the board carries on
    await sleep(50);
    expect(board.machine.pin(lockOf('A06'))).toBe('high');
    expect(model.snapshot().A06!.relay).toBe(true);
    await startDriver();
    expect(board.machine.pin(lockOf('A06'))).toBe('low');
    expect(model.snapshot().A06!.relay).toBe(false);
    expect(relayPins.filter((pin) => board.machine.pin(pin) !== 'low')).toEqual([]);
  });

  it('a board whose CPU stops is declared lost by the heartbeat, and is ok again once it runs', async () => {
    const b = await startDriver({ heartbeat: { intervalMs: 100, timeoutMs: 400 }, handshakeTimeoutMs: 1500 });
    board.disconnect('silent'); // the Uno hangs: the TCP link stays up, nothing answers
    await waitFor(() => b.link === 'lost', 2000, 'lost by the heartbeat');
    expect(b.lastLoss).toMatchObject({ cause: 'no-answer' });
    await sleep(300); // reconnects meanwhile reach a board that answers nothing
    expect(b.link).toBe('lost');
    board.connect();
    await waitFor(() => b.link === 'ok', 5000, 'ok again');
    expect(links).toEqual(['ok', 'lost', 'ok']);
    await b.locks.pulse(lockOf('A08'));
    expect(model.snapshot().A08).toMatchObject({ open: true, latchPulses: 1, relay: false });
  });

  it('a board that resets under the driver (brown-out, watchdog) is noticed by its boot greeting and set up again', async () => {
    // The reboot takes ≈1.9 s, inside the production heartbeat's 3 s: the link stays ok while the board has
    // forgotten its pin modes and reports. Its unasked firmware name is the sign. The long
    // heartbeat here keeps a slow machine from passing this for the wrong reason.
    const b = await startDriver({ heartbeat: { intervalMs: 500, timeoutMs: 10_000 } });
    const before = blinks;
    board.machine.reset();
    await waitFor(() => blinks === before + 6, 5000, 'the reboot (its version blinks)');
    await waitFor(() => links.includes('lost'), 1000, 'the reset to be noticed');
    expect(b.lastLoss).toMatchObject({ cause: 'board-restarted' });
    // Set up again: relays are outputs and the door switches report, so a pulse is seen opening its door.
    await waitFor(() => b.link === 'ok', 5000, 'ok again');
    await b.locks.pulse(lockOf('A03'), { doorSensor: sensorOf('A03') });
    await waitFor(() => edges.some((edge) => edge.sensor === sensorOf('A03') && edge.open), 1000, 'the open edge after the reset');
  });
});

describe("startSimulator({ firmata: 'genuine' })", () => {
  it('puts the Uno on the Firmata port, and refuses a cabinet that does not fit an Uno', async () => {
    const ports = { controlPort: 0, firmataPort: 0, scannerPort: 0, firmata: 'genuine' } as const;
    const sim = await startSimulator({ ...ports, compartments: unoCompartments() });
    try {
      expect(sim.genuine?.port).toBe(sim.ports.firmata);
      expect(sim.genuine?.machine.running).toBe(true);
    } finally {
      await sim.stop();
    }
    expect(sim.genuine?.machine.running).toBe(false);
    await expect(startSimulator({ ...ports, compartments: demoCompartments() })).rejects.toThrowError(/door B04's lock relay is on pin 13, but an Uno offers D2–D12 and A0–A5 .*D13 blinks at boot/);
  });
});

describe('the pinned StandardFirmata hex', () => {
  it('is cached where firmware:fetch puts it, and a copy whose SHA-256 differs is refused', async () => {
    expect(standardFirmataPath()).toMatch(/avrgirl-arduino-5\.0\.1-uno-StandardFirmata\.cpp\.hex$/);
    const saved = process.env.GOVLOCKER_FIRMWARE_DIR;
    const dir = await mkdtemp(join(tmpdir(), 'govlocker-firmware-'));
    process.env.GOVLOCKER_FIRMWARE_DIR = dir;
    try {
      await expect(loadStandardFirmata({ fetch: false })).rejects.toThrowError(/npm run firmware:fetch/);
      await writeFile(standardFirmataPath(), ':00000001FF\n');
      await expect(loadStandardFirmata({ fetch: false })).rejects.toThrowError(/SHA-256 [0-9a-f]{64}, not the pinned 6d57ea7c/);
    } finally {
      if (saved === undefined) delete process.env.GOVLOCKER_FIRMWARE_DIR;
      else process.env.GOVLOCKER_FIRMWARE_DIR = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('govlocker start --firmata genuine', () => {
  it('runs the whole cabinet on the genuine StandardFirmata: a load opens its door and commits when it closes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'govlocker-genuine-start-'));
    const cabinet = await startCabinet({ GOVLOCKER_DATA_DIR: dir, GOVLOCKER_ADMIN_TOKEN: 'genuine-admin-token-0123' }, 30_000, ['--firmata', 'genuine']);
    try {
      const api = cabinet.banner.api;
      const sim = cabinet.banner.simulator;
      const auth = { token: 'genuine-admin-token-0123' };
      await until(async () => (await call(`${api}/health`)).json?.hardware === 'ok', 15_000, 'the board ready');
      expect((await call(`${api}/compartments`, auth)).json.map((c: { id: string }) => c.id)).toEqual(['A01', 'A02', 'A03', 'A04', 'A05', 'A06', 'A07', 'A08']);
      expect((await call(`${api}/cases`, { ...auth, body: caseBody('GENUINE-1', [{ type: 'seal', barcode: 'GEN-SEAL' }]) })).status).toBe(201);
      const load = await call(`${api}/loads`, { ...auth, body: { barcode: 'GEN-SEAL' } });
      expect(load.status).toBe(202);
      const door = load.json.compartment as string;
      await until(async () => (await call(`${sim}/sim/state`)).json.doors[door].open, 5000, 'the door open');
      // The controller sees the door open through the firmware's own digital report before it is closed.
      await until(async () => (await call(`${api}/compartments`, auth)).json.find((c: { id: string }) => c.id === door).door === 'open', 5000, 'the open seen');
      await call(`${sim}/sim/doors/${door}/close`, { body: { occupied: true } });
      await until(async () => (await call(`${api}/loads/${load.json.loadId}`, auth)).json.state === 'committed', 5000, 'the load committed');
    } finally {
      await cabinet.interrupt(8000);
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
